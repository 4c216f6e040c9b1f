/*
 * model.h: the Azure JIT data contract as typed structs
 * (Microsoft.Security/jitNetworkAccessPolicies, api-version 2020-01-01).
 *
 * These are what every part of jitgate past the JSON boundary works with. All
 * arrays are owned by their parent and freed by jit_policy_free /
 * jit_request_free / jit_initiate_free (which accept NULL).
 */
#ifndef JIT_MODEL_H
#define JIT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "duration.h"
#include "port.h"
#include "prefix.h"
#include "resource_id.h"
#include "timestamp.h"

/* Source prefixes of a port: Azure's allowedSourceAddressPrefix (one, list = false)
 * or allowedSourceAddressPrefixes (list = true, 1..JIT_MAX_PREFIXES_PER_PORT). */
struct jit_sources {
	bool list;
	size_t n;
	struct jit_prefix *prefixes;
};

/* JitNetworkAccessPortRule */
struct jit_port_rule {
	uint16_t number;
	enum jit_proto protocol;
	struct jit_sources sources;
	int64_t max_duration_ns;  /* maxRequestAccessDuration, PT5M..P1D */
	bool close_established;   /* closeEstablishedOnExpiry, a jitgate extension: when a
	                           * grant ends, its established connections are cut too */
};

/* JitNetworkAccessPolicyVirtualMachine */
struct jit_policy_vm {
	struct jit_rid id;           /* a JIT_RID_VM */
	size_t n_ports;
	struct jit_port_rule *ports;
	char *public_ip;             /* publicIpAddress, NULL when absent */
};

enum jit_port_status {
	JIT_STATUS_INITIATED = 1,
	JIT_STATUS_REVOKED,
	JIT_STATUS_INITIATING,       /* shown in Azure's 202 example */
};

enum jit_status_reason {
	JIT_REASON_USER_REQUESTED = 1,
	JIT_REASON_EXPIRED,
	JIT_REASON_NEWER_REQUEST,    /* NewerRequestInitiated */
};

/* JitNetworkAccessRequestPort */
struct jit_request_port {
	uint16_t number;
	struct jit_sources sources;
	jit_time end_time;
	enum jit_port_status status;
	enum jit_status_reason reason;
	bool has_mapped_port;
	uint16_t mapped_port;
};

/* JitNetworkAccessRequestVirtualMachine */
struct jit_request_vm {
	struct jit_rid id;
	size_t n_ports;
	struct jit_request_port *ports;
};

/* JitNetworkAccessRequest */
struct jit_request {
	size_t n_vms;
	struct jit_request_vm *vms;
	jit_time start_time;
	char *requestor;        /* required */
	char *justification;    /* NULL when absent */
};

/* JitNetworkAccessPolicy. id, name, type, location and provisioningState are
 * read-only: the server sets them; decoding a PUT body ignores them. */
struct jit_policy {
	struct jit_rid id;            /* kind JIT_RID_ROOT when unset */
	char *kind;                   /* "Basic" by default; NULL when absent */
	char *location;               /* NULL when absent */
	size_t n_vms;
	struct jit_policy_vm *vms;
	size_t n_requests;
	struct jit_request *requests;
	char *provisioning_state;     /* NULL when absent */
};

/* JitNetworkAccessPolicyInitiatePort */
struct jit_initiate_port {
	uint16_t number;
	bool has_source;              /* false: the caller's own address ("My IP") */
	struct jit_prefix source;
	jit_time end_time;
};

/* JitNetworkAccessPolicyInitiateVirtualMachine */
struct jit_initiate_vm {
	struct jit_rid id;
	size_t n_ports;
	struct jit_initiate_port *ports;
};

/* JitNetworkAccessPolicyInitiateRequest */
struct jit_initiate {
	size_t n_vms;
	struct jit_initiate_vm *vms;
	char *justification;          /* NULL when absent */
};

const char *jit_port_status_name(enum jit_port_status s);
const char *jit_status_reason_name(enum jit_status_reason r);

void jit_policy_free(struct jit_policy *p);
void jit_request_free(struct jit_request *r);     /* frees r itself */
void jit_request_clear(struct jit_request *r);    /* frees what r owns, not r */
void jit_initiate_free(struct jit_initiate *in);

#endif
