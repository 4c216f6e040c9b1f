/*
 * grant.c: an initiate checked against its policy (see grant.h).
 */
#include "grant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

const struct jit_policy_vm *
jit_policy_find_vm(const struct jit_policy *p, const struct jit_rid *vm)
{
	for (size_t i = 0; i < p->n_vms; i++)
		if (jit_rid_equal(&p->vms[i].id, vm))
			return &p->vms[i];
	return NULL;
}

static const struct jit_port_rule *
policy_port(const struct jit_policy_vm *pv, uint16_t number)
{
	for (size_t i = 0; i < pv->n_ports; i++)
		if (pv->ports[i].number == number)
			return &pv->ports[i];
	return NULL;
}

/* "10.0.0.0/8, 192.168.0.0/16": what a rule allows, for a refusal's message (the first
 * few, then how many more). */
static void
allowed_text(const struct jit_port_rule *rule, char *buf, size_t n)
{
	enum { SHOWN = 6 };
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < rule->sources.n && i < SHOWN; i++) {
		char one[JIT_PREFIX_BUFSZ];
		int w;

		jit_prefix_format(&rule->sources.prefixes[i], one);
		w = snprintf(buf + used, n - used, "%s%s", i ? ", " : "", one);
		if (w < 0 || (size_t)w >= n - used)
			return;
		used += (size_t)w;
	}
	if (rule->sources.n > SHOWN)
		snprintf(buf + used, n - used, " and %zu more", rule->sources.n - SHOWN);
}

/* Checks one requested port against its rule and fills the request port. */
static int
grant_port(const struct jit_port_rule *rule, const struct jit_initiate_port *ip, jit_time now,
	const struct jit_prefix *caller, struct jit_request_port *out, struct jit_error *err)
{
	char buf[JIT_PREFIX_BUFSZ], end[JIT_TIME_BUFSZ], max[JIT_DURATION_BUFSZ];
	jit_time latest = now + rule->max_duration_ns;
	struct jit_prefix source = ip->has_source ? ip->source : *caller;

	if (!ip->has_source && caller->family == JIT_FAMILY_ANY)
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"allowedSourceAddressPrefix: the caller's address is unknown; name a source");
	if (!jit_prefix_contained_in_any(rule->sources.prefixes, rule->sources.n, &source)) {
		char allowed[8 * JIT_PREFIX_BUFSZ];

		jit_prefix_format(&source, buf);
		allowed_text(rule, allowed, sizeof(allowed));
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"allowedSourceAddressPrefix: the source '%s'%s is not inside the prefixes the "
			"policy allows for port %u: %s", buf, ip->has_source ? "" : " (your address)",
			ip->number, allowed);
	}
	if (ip->end_time <= now) {
		jit_time_format(ip->end_time, end);
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"endTimeUtc: '%s' is not in the future", end);
	}
	if (ip->end_time > latest + JIT_END_TIME_SKEW_NS) {
		jit_time_format(ip->end_time, end);
		jit_duration_format(rule->max_duration_ns, max);
		return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
			"endTimeUtc: '%s' is past the policy's maximum request duration %s for port %u",
			end, max, ip->number);
	}
	memset(out, 0, sizeof(*out));
	out->number = ip->number;
	out->sources.list = false;
	out->sources.n = 1;
	if ((out->sources.prefixes = calloc(1, sizeof(*out->sources.prefixes))) == NULL)
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	out->sources.prefixes[0] = source;
	out->end_time = ip->end_time < latest ? ip->end_time : latest;
	out->status = JIT_STATUS_INITIATED;
	out->reason = JIT_REASON_USER_REQUESTED;
	return 0;
}

int
jit_grant_request(const struct jit_policy *p, const struct jit_initiate *in, jit_time now,
	const struct jit_prefix *caller, const char *requestor, struct jit_request *r,
	struct jit_error *err)
{
	memset(r, 0, sizeof(*r));
	r->start_time = now;
	r->requestor = strdup(requestor);
	r->justification = in->justification ? strdup(in->justification) : NULL;
	r->vms = calloc(in->n_vms ? in->n_vms : 1, sizeof(*r->vms));
	if (r->requestor == NULL || r->vms == NULL ||
		(in->justification != NULL && r->justification == NULL))
		return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
	for (size_t i = 0; i < in->n_vms; i++) {
		const struct jit_initiate_vm *iv = &in->vms[i];
		const struct jit_policy_vm *pv = jit_policy_find_vm(p, &iv->id);
		struct jit_request_vm *rv = &r->vms[i];

		r->n_vms++;
		rv->id = pv ? pv->id : iv->id;
		if (pv == NULL)
			return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
				"virtualMachines[%zu].id: the virtual machine '%s' is not in this JIT "
				"policy", i, iv->id.name);
		if ((rv->ports = calloc(iv->n_ports ? iv->n_ports : 1, sizeof(*rv->ports))) == NULL)
			return jit_errorf(err, 500, JIT_E_INTERNAL, "out of memory");
		for (size_t j = 0; j < iv->n_ports; j++) {
			const struct jit_port_rule *rule = policy_port(pv, iv->ports[j].number);

			if (rule == NULL)
				return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
					"virtualMachines[%zu].ports[%zu].number: port %u is not configured "
					"for JIT on '%s'", i, j, iv->ports[j].number, iv->id.name);
			if (grant_port(rule, &iv->ports[j], now, caller, &rv->ports[j], err) != 0)
				return jit_error_prefix(err, "virtualMachines[%zu].ports[%zu]", i, j);
			rv->n_ports++;
		}
	}
	return 0;
}

/* The latest end of active access in p to number on vm from source, or 0 when none. */
static jit_time
active_end(const struct jit_policy *p, const struct jit_rid *vm, uint16_t number,
	const struct jit_prefix *source, jit_time now)
{
	jit_time end = 0;

	for (size_t i = 0; i < p->n_requests; i++) {
		const struct jit_request *q = &p->requests[i];

		for (size_t v = 0; v < q->n_vms; v++) {
			if (!jit_rid_equal(&q->vms[v].id, vm))
				continue;
			for (size_t k = 0; k < q->vms[v].n_ports; k++) {
				const struct jit_request_port *qp = &q->vms[v].ports[k];

				if (qp->number != number || qp->status != JIT_STATUS_INITIATED ||
					qp->end_time <= now)
					continue;
				for (size_t s = 0; s < qp->sources.n; s++)
					if (jit_prefix_equal(&qp->sources.prefixes[s], source) &&
						qp->end_time > end)
						end = qp->end_time;
			}
		}
	}
	return end;
}

int
jit_grant_extends(const struct jit_policy *p, const struct jit_request *r, jit_time now,
	struct jit_error *err)
{
	char src[JIT_PREFIX_BUFSZ], end[JIT_TIME_BUFSZ], cur[JIT_TIME_BUFSZ];

	for (size_t i = 0; i < r->n_vms; i++) {
		const struct jit_request_vm *rv = &r->vms[i];

		for (size_t j = 0; j < rv->n_ports; j++) {
			const struct jit_request_port *rp = &rv->ports[j];
			jit_time e;

			if (rp->sources.n != 1)
				return jit_errorf(err, 500, JIT_E_INTERNAL, "extension without one source");
			e = active_end(p, &rv->id, rp->number, &rp->sources.prefixes[0], now);
			jit_prefix_format(&rp->sources.prefixes[0], src);
			if (e == 0)
				return jit_errorf(err, 409, JIT_E_CONFLICT,
					"virtualMachines[%zu].ports[%zu]: there is no active access to port %u "
					"of '%s' from %s to extend; request it first", i, j, rp->number,
					rv->id.name, src);
			if (rp->end_time <= e) {
				jit_time_format(rp->end_time, end);
				jit_time_format(e, cur);
				return jit_errorf(err, 400, JIT_E_BAD_REQUEST,
					"virtualMachines[%zu].ports[%zu].endTimeUtc: '%s' is not later than "
					"the current end '%s' of the access to port %u from %s (the latest "
					"allowed is the policy's maximum from now)", i, j, end, cur,
					rp->number, src);
			}
		}
	}
	return 0;
}
