/*
 * model_json.h: JSON codecs (jansson) for the structs of model.h.
 *
 * Decoding is the boundary: it checks types, required fields, enums, ranges,
 * limits (limits.h) and duplicates, and fills typed structs. On failure it
 * returns -1 with a 400 InvalidRequestContent error whose message starts with
 * the JSON path of the bad field, e.g.
 *   "properties.virtualMachines[0].ports[1].maxRequestAccessDuration: ..."
 * Unknown fields are ignored, as ARM does. Encoding produces what Azure
 * produces: absent optionals omitted, durations canonical, 7-digit timestamps.
 */
#ifndef JIT_MODEL_JSON_H
#define JIT_MODEL_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"
#include "model.h"

/* Parses a request body (at most JIT_MAX_BODY_BYTES) into a JSON object;
 * a syntax error names line and column. */
int jit_json_parse_object(const char *buf, size_t len, json_t **out, struct jit_error *err);

/* A JitNetworkAccessPolicy (a PUT body or a stored/returned policy). */
int jit_policy_from_json(const json_t *j, struct jit_policy **out, struct jit_error *err);
json_t *jit_policy_to_json(const struct jit_policy *p);

/* A JitNetworkAccessRequest (the initiate response, an element of properties.requests). */
int jit_request_from_json(const json_t *j, struct jit_request **out, struct jit_error *err);
json_t *jit_request_to_json(const struct jit_request *r);

/* A JitNetworkAccessPolicyInitiateRequest (the initiate body). */
int jit_initiate_from_json(const json_t *j, struct jit_initiate **out, struct jit_error *err);
json_t *jit_initiate_to_json(const struct jit_initiate *in);
/* A revoke body (ours): the initiate shape, endTimeUtc optional and unused (end_time 0). */
int jit_revoke_from_json(const json_t *j, struct jit_initiate **out, struct jit_error *err);

#endif
