/*
 * desired_state.h: what one enforcement point must enforce, as the control plane
 * sends it to the agent (GET /agent/v1/desired-state, see docs/agent-protocol.md).
 *
 * Wire form (JSON):
 * {
 *   "version": 7,                          // bumped on every change for this point
 *   "enforcementPoint": "<id>",
 *   "kind": "host" | "gateway",
 *   "generatedAtUtc": "2026-11-25T21:00:00.0000000Z",
 *   "rules": [                             // one per locked VM port
 *     { "vm": "<VM resource id>",
 *       "destinations": ["10.0.0.4", ...], // the VM's addresses; a gateway matches them,
 *                                          // a host may ignore them (it protects itself)
 *       "number": 22, "protocol": "TCP" | "UDP" | "*",
 *       "closeEstablished": false,         // cut established flows when grants end
 *       "grants": [ { "source": "10.1.0.5" | "10.1.0.0/24" | "*",
 *                     "endTimeUtc": "...", "secondsRemaining": 3599,
 *                     "mappedPort": 50022 } ] } ]  // mappedPort: optional, gateway DNAT (later)
 * }
 * A port present in "rules" is locked: dropped unless a grant matches. Grants
 * whose end has passed are never sent. The agent computes each kernel timeout as
 * min(endTimeUtc - its own now, secondsRemaining), so clock skew closes early,
 * never late.
 */
#ifndef JIT_DESIRED_STATE_H
#define JIT_DESIRED_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "port.h"
#include "prefix.h"
#include "resource_id.h"
#include "timestamp.h"

/* Addresses one VM may have, and grants one rule may carry. */
#define JIT_MAX_VM_ADDRESSES 16
#define JIT_MAX_GRANTS_PER_RULE 100000
#define JIT_MAX_RULES 100000

enum jit_ep_kind {
	JIT_EP_HOST = 1,
	JIT_EP_GATEWAY,
};

struct jit_grant {
	struct jit_prefix source;
	jit_time end_time;
	int64_t seconds_remaining;
	bool has_mapped_port;
	uint16_t mapped_port;
};

struct jit_rule {
	struct jit_rid vm;
	size_t n_destinations;
	struct jit_prefix destinations[JIT_MAX_VM_ADDRESSES];
	uint16_t number;
	enum jit_proto protocol;
	bool close_established;
	size_t n_grants;
	struct jit_grant *grants;
};

struct jit_desired_state {
	uint64_t version;
	char enforcement_point[JIT_RESOURCE_ID_MAX];
	enum jit_ep_kind kind;
	jit_time generated_at;
	size_t n_rules;
	struct jit_rule *rules;
};

const char *jit_ep_kind_name(enum jit_ep_kind k);   /* "host" / "gateway" */
int jit_ep_kind_parse(const char *s, enum jit_ep_kind *out, struct jit_error *err);

int jit_desired_state_from_json(const json_t *j, struct jit_desired_state **out,
	struct jit_error *err);
json_t *jit_desired_state_to_json(const struct jit_desired_state *ds);
void jit_desired_state_free(struct jit_desired_state *ds);

#endif
