/*
 * model.c: names of the model's enums and the destructors of its structs.
 *
 * Every array in model.h is owned by its parent, so freeing a policy frees its
 * VMs, their ports and prefixes, and its requests. All destructors accept NULL
 * and structs that a failed decode left half filled (NULL arrays, counts 0).
 */
#include "model.h"

#include <stdlib.h>

const char *
jit_port_status_name(enum jit_port_status s)
{
	switch (s) {
	case JIT_STATUS_INITIATED:
		return "Initiated";
	case JIT_STATUS_REVOKED:
		return "Revoked";
	case JIT_STATUS_INITIATING:
		return "Initiating";
	}
	/* Never NULL, so that a log line with a corrupt value cannot crash. */
	return "Unknown";
}

const char *
jit_status_reason_name(enum jit_status_reason r)
{
	switch (r) {
	case JIT_REASON_USER_REQUESTED:
		return "UserRequested";
	case JIT_REASON_EXPIRED:
		return "Expired";
	case JIT_REASON_NEWER_REQUEST:
		return "NewerRequestInitiated";
	}
	return "Unknown";
}

static void
sources_clear(struct jit_sources *s)
{
	free(s->prefixes);
	s->prefixes = NULL;
	s->n = 0;
}

static void
policy_vm_clear(struct jit_policy_vm *vm)
{
	for (size_t i = 0; i < vm->n_ports; i++)
		sources_clear(&vm->ports[i].sources);
	free(vm->ports);
	free(vm->public_ip);
}

static void
request_vm_clear(struct jit_request_vm *vm)
{
	for (size_t i = 0; i < vm->n_ports; i++)
		sources_clear(&vm->ports[i].sources);
	free(vm->ports);
}

void
jit_request_clear(struct jit_request *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_vms; i++)
		request_vm_clear(&r->vms[i]);
	free(r->vms);
	free(r->requestor);
	free(r->justification);
	r->vms = NULL;
	r->n_vms = 0;
	r->requestor = NULL;
	r->justification = NULL;
}

void
jit_request_free(struct jit_request *r)
{
	if (r == NULL)
		return;
	jit_request_clear(r);
	free(r);
}

void
jit_policy_free(struct jit_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->n_vms; i++)
		policy_vm_clear(&p->vms[i]);
	free(p->vms);
	for (size_t i = 0; i < p->n_requests; i++)
		jit_request_clear(&p->requests[i]);
	free(p->requests);
	free(p->kind);
	free(p->location);
	free(p->provisioning_state);
	free(p);
}

void
jit_initiate_free(struct jit_initiate *in)
{
	if (in == NULL)
		return;
	for (size_t i = 0; i < in->n_vms; i++)
		free(in->vms[i].ports);
	free(in->vms);
	free(in->justification);
	free(in);
}
