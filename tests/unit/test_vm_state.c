/*
 * test_vm_state.c: a VM's JIT state from its facts (vm_state.c), the one rule
 * jitgated and the CLI share: the reasons and their precedence, Configured vs
 * Not configured, the enforcement point's capability report and health window,
 * and the API's words.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vm_state.h"

static enum jit_vm_state
decide(struct jit_vm_facts f, char reason[JIT_VM_REASON_MAX])
{
	enum jit_vm_state s = 0;

	jit_vm_state_decide(&f, &s, reason);
	return s;
}

static void
test_states_and_reasons(void **state)
{
	char why[JIT_VM_REASON_MAX];

	(void)state;
	assert_int_equal(decide((struct jit_vm_facts){.has_ep = true, .ep_can_enforce = true,
		.in_policy = true}, why), JIT_VM_CONFIGURED);
	assert_string_equal(why, "");
	assert_int_equal(decide((struct jit_vm_facts){.has_ep = true, .ep_can_enforce = true},
		why), JIT_VM_NOT_CONFIGURED);
	assert_string_equal(why, "");
	/* Unsupported whether in a policy or not, with the reason. */
	assert_int_equal(decide((struct jit_vm_facts){.in_policy = true}, why),
		JIT_VM_UNSUPPORTED);
	assert_string_equal(why,
		"missing network security group: no enforcement point protects this VM");
	assert_int_equal(decide((struct jit_vm_facts){.has_ep = true}, why), JIT_VM_UNSUPPORTED);
	assert_non_null(strstr(why, "cannot enforce: nftables is not available"));
	/* A security policy is the reason over everything else. */
	assert_int_equal(decide((struct jit_vm_facts){.in_policy = true, .jit_disabled = true,
		.disabled_scope = "/subscriptions/s", .disabled_reason = "change freeze"}, why),
		JIT_VM_UNSUPPORTED);
	assert_string_equal(why,
		"JIT is disabled by a security policy on /subscriptions/s: change freeze");
	decide((struct jit_vm_facts){.has_ep = true, .ep_can_enforce = true, .jit_disabled = true,
		.disabled_scope = "/subscriptions/s/resourceGroups/g"}, why);
	assert_string_equal(why,
		"JIT is disabled by a security policy on /subscriptions/s/resourceGroups/g");
}

static void
test_enforcement_point(void **state)
{
	(void)state;
	assert_true(jit_ep_status_can_enforce(NULL));        /* not reported yet */
	assert_true(jit_ep_status_can_enforce("not json"));
	assert_true(jit_ep_status_can_enforce("{\"capabilities\":{\"nftables\":true}}"));
	assert_true(jit_ep_status_can_enforce("{\"healthy\":true}"));
	assert_false(jit_ep_status_can_enforce("{\"capabilities\":{\"nftables\":false}}"));
	assert_false(jit_ep_healthy(0, 1000 * JIT_NS_PER_SEC));
	assert_true(jit_ep_healthy(1000 * JIT_NS_PER_SEC, 1000 * JIT_NS_PER_SEC + JIT_EP_HEALTHY_NS
		- 1));
	assert_false(jit_ep_healthy(1000 * JIT_NS_PER_SEC, 1000 * JIT_NS_PER_SEC +
		JIT_EP_HEALTHY_NS));
}

static void
test_words(void **state)
{
	enum jit_vm_state s;

	(void)state;
	assert_string_equal(jit_vm_state_token(JIT_VM_NOT_CONFIGURED), "NotConfigured");
	assert_string_equal(jit_vm_state_name(JIT_VM_NOT_CONFIGURED), "Not configured");
	assert_string_equal(jit_vm_state_name(JIT_VM_UNSUPPORTED), "Unsupported");
	assert_int_equal(jit_vm_state_from_token("notconfigured", &s), 0);
	assert_int_equal(s, JIT_VM_NOT_CONFIGURED);
	assert_int_equal(jit_vm_state_from_token("CONFIGURED", &s), 0);
	assert_int_equal(s, JIT_VM_CONFIGURED);
	assert_int_equal(jit_vm_state_from_token("Not configured", &s), -1);
	assert_int_equal(jit_vm_state_from_token(NULL, &s), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states_and_reasons),
		cmocka_unit_test(test_enforcement_point),
		cmocka_unit_test(test_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
