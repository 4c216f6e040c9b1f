/*
 * jit_limits.h: every input has a maximum, and they all live here with their reasons.
 */
#ifndef JIT_LIMITS_H
#define JIT_LIMITS_H

/* Request bodies: a policy for hundreds of VMs fits comfortably in 1 MiB. */
#define JIT_MAX_BODY_BYTES (1024 * 1024)

/* ARM names: resource groups are at most 90 characters, VMs 64; we take the larger. */
#define JIT_NAME_MAX 90
/* A full resource ID: six name segments plus fixed segments. */
#define JIT_RESOURCE_ID_MAX 1024

/* One policy per resource group and location in Azure; keep it to what a person reviews. */
#define JIT_MAX_VMS_PER_POLICY 1000
/* Azure allows any number; 100 distinct ports per VM is far beyond management ports. */
#define JIT_MAX_PORTS_PER_VM 100
/* Source prefixes in allowedSourceAddressPrefixes (Azure NSGs allow 4000 per rule set). */
#define JIT_MAX_PREFIXES_PER_PORT 100
/* VMs and ports in one initiate request. */
#define JIT_MAX_VMS_PER_REQUEST JIT_MAX_VMS_PER_POLICY
/* Justification and requestor texts. */
#define JIT_MAX_JUSTIFICATION 1024
#define JIT_MAX_REQUESTOR 256
/* Free-form short strings: kind, location, provisioningState, public IP. */
#define JIT_MAX_SHORT_STRING 128

/* maxRequestAccessDuration: "Minimum 5 minutes, maximum 1 day" (Azure spec). */
#define JIT_MIN_ACCESS_DURATION_NS (5LL * 60 * 1000000000LL)
#define JIT_MAX_ACCESS_DURATION_NS (24LL * 3600 * 1000000000LL)

/* Shared by jitgated and the CLI, so that the CLI refuses what the server would. */
/* A principal's display name and a JIT setting's reason (what the store keeps). */
#define JIT_DISPLAY_NAME_MAX (JIT_MAX_SHORT_STRING - 1)
#define JIT_SETTINGS_REASON_MAX (JIT_MAX_SHORT_STRING * 2 - 1)
/* A token's name says where it is used ("alice laptop"), not a description. */
#define JIT_TOKEN_NAME_MAX 64
/* Audit entries in one page of the log, and in one CSV export. */
#define JIT_AUDIT_PAGE_MAX 1000
#define JIT_AUDIT_CSV_MAX 100000
/* An agent's status report is small: capabilities, OS, addresses, a message. */
#define JIT_EP_STATUS_MAX_BYTES (16 * 1024)

#endif
