#!/usr/bin/env node
// Integration test: drives jitgated through the unchanged Azure SDK client
// @azure/arm-security v5 (SecurityCenter.jitNetworkAccessPolicies), api-version 2020-01-01,
// signed in by @azure/identity's ClientSecretCredential (tenant "adfs", authorityHost
// jitgated): nothing in it is written for jitgate but the URLs.
// Output is TAP ("1..N", "ok i - ...", "not ok i - ..." + "  # ..." diagnostics); the exit
// status is non-zero when any test point fails. See README.md next to this file.
//
// Environment (set by the harness that started jitgated and pre-created the VMs):
//   JITGATE_URL            https://127.0.0.1:PORT (must be https: the SDK refuses to send a
//                          bearer token over http)
//   JITGATE_CLIENT_ID      a service principal's name or object ID (it writes policies)
//   JITGATE_CLIENT_SECRET  one of its client secrets (jitgate client-secret create)
//   JITGATE_INITIATE_CLIENT_ID, JITGATE_INITIATE_CLIENT_SECRET
//                          optional: the principal initiate uses (default the one above)
//   JITGATE_REVOKE_CLIENT_ID, JITGATE_REVOKE_CLIENT_SECRET, JITGATE_REVOKE_SECRET_ID
//                          optional: a reader whose secret the test revokes (with the
//                          first principal's access token) to see its access token die
//   JITGATE_SUBSCRIPTION   subscription id (a GUID, as in Azure)
//   JITGATE_RG             resource group of the pre-created VM(s)
//   JITGATE_LOCATION       location (ascLocation) the policy is created in, e.g. westeurope
//   JITGATE_VM_ID          full ARM id of a pre-created VM; several may be given, comma-separated
//                          (all go into the policy; the first one is used for initiate)
// Optional:
//   JITGATE_OTHER_LOCATION a location with none of this test's policies (default: eastus, or
//                          westeurope when JITGATE_LOCATION is eastus)
//   JITGATE_POLICY_NAME    policy name (default: sdk-it-<random>)
//   JITGATE_SOURCE_PREFIX  address asked for in initiate (default 192.0.2.10)
//   JITGATE_EXPECT_REQUESTOR  if set, the requestor the server must report for this token
//   JITGATE_CA_FILE        PEM CA to trust (alternative to NODE_EXTRA_CA_CERTS)
//   JITGATE_TEST_TIMEOUT_S whole-run watchdog in seconds (default 180)
// Trusting a self-signed server certificate: start node with NODE_EXTRA_CA_CERTS=/path/ca.pem
// (read once at process start), or set JITGATE_CA_FILE.

import assert from "node:assert/strict";
import fs from "node:fs";
import crypto from "node:crypto";

// ---------------------------------------------------------------- TAP plumbing

const tests = [];
function test(name, fn) {
	tests.push({ name, fn });
}

function diag(text) {
	for (const line of String(text).split("\n")) {
		process.stdout.write(`# ${line}\n`);
	}
}

function describeError(e) {
	if (e && e.name === "RestError") {
		const body = e.response && e.response.bodyAsText;
		const ct = e.response && e.response.headers && e.response.headers.get("content-type");
		let hint = "";
		if (e.statusCode >= 200 && e.statusCode < 300) {
			hint = `\nhint: the SDK accepts only the exact success status of each operation (PUT/GET/list 200, initiate 202, delete 200|204); ${e.statusCode} is not it`;
		} else if (e.statusCode >= 400 && e.code === undefined) {
			hint = `\nhint: no error code parsed: the body must be JSON {"error":{"code":"...","message":"..."}} with Content-Type application/json (got ${ct})`;
		}
		return (
			`RestError statusCode=${e.statusCode} code=${e.code} message=${String(e.message).slice(0, 500)}` +
			(body ? `\nresponse body: ${String(body).slice(0, 2000)}` : "") +
			hint
		);
	}
	if (e instanceof assert.AssertionError) {
		return e.message;
	}
	return (e && e.stack) || String(e);
}

// ---------------------------------------------------------------- configuration

const env = process.env;
const required = [
	"JITGATE_URL",
	"JITGATE_CLIENT_ID",
	"JITGATE_CLIENT_SECRET",
	"JITGATE_SUBSCRIPTION",
	"JITGATE_RG",
	"JITGATE_LOCATION",
	"JITGATE_VM_ID",
];
if (!env.JITGATE_URL) {
	console.log("1..0 # SKIP JITGATE_URL is not set (no jitgated to test against)");
	process.exit(0);
}
const missing = required.filter((k) => !env[k]);
if (missing.length) {
	console.log(`Bail out! missing environment: ${missing.join(", ")}`);
	process.exit(2);
}

const endpoint = env.JITGATE_URL.replace(/\/+$/, "");
const subscriptionId = env.JITGATE_SUBSCRIPTION;
const rg = env.JITGATE_RG;
const location = env.JITGATE_LOCATION;
const vmIds = env.JITGATE_VM_ID.split(",")
	.map((s) => s.trim())
	.filter(Boolean);
const vmId = vmIds[0];
const otherLocation =
	env.JITGATE_OTHER_LOCATION ||
	(location.toLowerCase() === "eastus" ? "westeurope" : "eastus");
const policyName = env.JITGATE_POLICY_NAME || `sdk-it-${crypto.randomBytes(4).toString("hex")}`;
const sourcePrefix = env.JITGATE_SOURCE_PREFIX || "192.0.2.10";
const justification = "jitgate azure-sdk integration test";


// A proxy from the environment would be used by the SDK for this loopback server too.
for (const k of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]) {
	delete process.env[k];
}

const watchdogSeconds = Number(env.JITGATE_TEST_TIMEOUT_S || 180);
setTimeout(() => {
	console.log(`Bail out! the test did not finish within ${watchdogSeconds}s`);
	process.exit(3);
}, watchdogSeconds * 1000).unref();

let SecurityCenter, isRestError, ClientSecretCredential;
try {
	({ SecurityCenter } = await import("@azure/arm-security"));
	({ isRestError } = await import("@azure/core-rest-pipeline"));
	({ ClientSecretCredential } = await import("@azure/identity"));
} catch (e) {
	console.log(`Bail out! cannot load the Azure SDK (run install.sh first): ${e.message}`);
	process.exit(2);
}

// Azure Stack's way to an ADFS authority: tenant "adfs", authorityHost the server; MSAL
// then reads <authorityHost>/adfs/.well-known/openid-configuration and its token_endpoint.
function credential(clientId, clientSecret) {
	return new ClientSecretCredential("adfs", clientId, clientSecret, { authorityHost: endpoint });
}

function makeClient(cred) {
	const options = { endpoint };
	if (env.JITGATE_CA_FILE) {
		options.tlsOptions = { ca: fs.readFileSync(env.JITGATE_CA_FILE) };
	}
	return new SecurityCenter(cred, subscriptionId, options);
}

const scope = `${endpoint}/.default`; // what SecurityCenter asks its credential for
const ownerCredential = credential(env.JITGATE_CLIENT_ID, env.JITGATE_CLIENT_SECRET);
const client = makeClient(ownerCredential);
const jit = client.jitNetworkAccessPolicies;
// Optionally a second identity for initiate (e.g. one holding only the JIT requester role).
const initiator = env.JITGATE_INITIATE_CLIENT_ID
	? makeClient(credential(env.JITGATE_INITIATE_CLIENT_ID, env.JITGATE_INITIATE_CLIENT_SECRET))
			.jitNetworkAccessPolicies
	: jit;

// ---------------------------------------------------------------- helpers

const lc = (s) => String(s).toLowerCase();
const policyId =
	`/subscriptions/${subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Security` +
	`/locations/${location}/jitNetworkAccessPolicies/${policyName}`;

// options.onResponse sees the raw HTTP response, so the tests can check exact status codes.
function withStatus() {
	const seen = { status: undefined };
	seen.options = {
		onResponse: (raw) => {
			seen.status = raw.status;
		},
	};
	return seen;
}

async function collect(pagedIter) {
	const items = [];
	let pages = 0;
	for await (const page of pagedIter.byPage()) {
		pages += 1;
		assert.ok(Array.isArray(page), "a page must be an array");
		items.push(...page);
	}
	return { items, pages };
}

function findPolicy(items) {
	return items.filter((p) => p && p.id && lc(p.id) === lc(policyId));
}

async function expectRestError(promise, statusCode, what) {
	let err;
	try {
		const r = await promise;
		assert.fail(`${what}: expected RestError ${statusCode}, got success: ${JSON.stringify(r)}`);
	} catch (e) {
		if (e instanceof assert.AssertionError) throw e;
		err = e;
	}
	assert.ok(isRestError(err), `${what}: expected a RestError, got ${describeError(err)}`);
	assert.equal(err.statusCode, statusCode, `${what}: statusCode (${describeError(err)})`);
	assert.equal(typeof err.code, "string", `${what}: error.code must be a string ({"error":{"code":...}}) (${describeError(err)})`);
	assert.ok(err.code.length > 0, `${what}: error.code must not be empty`);
	assert.ok(err.message && !err.message.startsWith("{"), `${what}: error.message should come from error.message in the body, got ${err.message}`);
	return err;
}

function rule(number, protocol, duration, prefixOrList) {
	const r = { number, protocol, maxRequestAccessDuration: duration };
	if (Array.isArray(prefixOrList)) r.allowedSourceAddressPrefixes = prefixOrList;
	else r.allowedSourceAddressPrefix = prefixOrList;
	return r;
}

const policyBody = {
	kind: "Basic",
	virtualMachines: vmIds.map((id) => ({
		id,
		ports: [
			rule(22, "TCP", "PT3H", "*"),
			rule(3389, "TCP", "PT1H", ["192.0.2.0/24", "198.51.100.7"]),
		],
	})),
};

function checkPolicyShape(p, what) {
	assert.ok(p, `${what}: no policy returned`);
	assert.equal(lc(p.id), lc(policyId), `${what}: id`);
	assert.equal(p.name, policyName, `${what}: name`);
	assert.equal(p.type, "Microsoft.Security/locations/jitNetworkAccessPolicies", `${what}: type`);
	assert.equal(lc(p.location), lc(location), `${what}: location`);
	assert.equal(p.kind, "Basic", `${what}: kind`);
	assert.equal(p.provisioningState, "Succeeded", `${what}: properties.provisioningState`);
	assert.ok(Array.isArray(p.virtualMachines), `${what}: properties.virtualMachines must be an array`);
	assert.equal(p.virtualMachines.length, vmIds.length, `${what}: number of virtualMachines`);
	for (const id of vmIds) {
		const vm = p.virtualMachines.find((v) => lc(v.id) === lc(id));
		assert.ok(vm, `${what}: VM ${id} missing`);
		const ports = [...vm.ports].sort((a, b) => a.number - b.number);
		assert.equal(ports.length, 2, `${what}: ports of ${id}`);
		assert.equal(ports[0].number, 22);
		assert.equal(ports[0].protocol, "TCP");
		assert.equal(ports[0].allowedSourceAddressPrefix, "*");
		assert.equal(ports[1].number, 3389);
		assert.equal(ports[1].protocol, "TCP");
		assert.deepEqual(ports[1].allowedSourceAddressPrefixes, ["192.0.2.0/24", "198.51.100.7"]);
	}
}

function portRule(p, number) {
	const vm = p.virtualMachines.find((v) => lc(v.id) === lc(vmId));
	return vm && vm.ports.find((r) => r.number === number);
}

const nearlyEqualTimes = (a, b, ms) => Math.abs(a.getTime() - b.getTime()) <= ms;

// State carried between test points.
let initiated; // the JitNetworkAccessRequest returned by initiate
let endTime; // Date asked for in initiate

// ---------------------------------------------------------------- test points

test("ClientSecretCredential signs in at jitgated: an access token of an hour at most", async () => {
	const t = await ownerCredential.getToken(scope);
	assert.ok(t && typeof t.token === "string" && t.token.startsWith("jga_"), "a jitgate access token");
	const left = t.expiresOnTimestamp - Date.now();
	assert.ok(left > 55 * 60 * 1000 && left <= 3600 * 1000 + 5000, `expires in ${left} ms`);
});

test("createOrUpdate (PUT) creates the policy: 200 with id/name/type/location/kind/properties", async () => {
	const s = withStatus();
	const p = await jit.createOrUpdate(rg, location, policyName, policyBody, s.options);
	assert.equal(s.status, 200, "PUT status");
	checkPolicyShape(p, "PUT response");
	assert.ok(
		p.requests === undefined || (Array.isArray(p.requests) && p.requests.length === 0),
		"a new policy has no requests",
	);
});

test("get returns the policy", async () => {
	const p = await jit.get(rg, location, policyName);
	checkPolicyShape(p, "GET response");
	assert.equal(portRule(p, 22).maxRequestAccessDuration, "PT3H");
	assert.equal(portRule(p, 3389).maxRequestAccessDuration, "PT1H");
});

test("list (subscription) contains the policy", async () => {
	const { items, pages } = await collect(jit.list());
	diag(`${items.length} policies in ${pages} page(s)`);
	const found = findPolicy(items);
	assert.equal(found.length, 1, "policy listed exactly once");
	checkPolicyShape(found[0], "list item");
});

test("listByRegion (own location) contains the policy", async () => {
	const { items, pages } = await collect(jit.listByRegion(location));
	diag(`${items.length} policies in ${pages} page(s)`);
	assert.equal(findPolicy(items).length, 1, "policy listed exactly once");
	for (const p of items) assert.equal(lc(p.location), lc(location), `item ${p.id} has another location`);
});

test(`listByRegion (other location ${otherLocation}) excludes the policy`, async () => {
	const { items } = await collect(jit.listByRegion(otherLocation));
	assert.equal(findPolicy(items).length, 0, "policy must not be listed in another location");
	for (const p of items) assert.equal(lc(p.location), lc(otherLocation), `item ${p.id} has another location`);
});

test("listByResourceGroup contains the policy", async () => {
	const { items, pages } = await collect(jit.listByResourceGroup(rg));
	diag(`${items.length} policies in ${pages} page(s)`);
	assert.equal(findPolicy(items).length, 1, "policy listed exactly once");
	for (const p of items) {
		assert.ok(lc(p.id).startsWith(lc(`/subscriptions/${subscriptionId}/resourceGroups/${rg}/`)), `item ${p.id} is in another resource group`);
	}
});

test("listByResourceGroupAndRegion (own location) contains the policy", async () => {
	const { items } = await collect(jit.listByResourceGroupAndRegion(rg, location));
	assert.equal(findPolicy(items).length, 1, "policy listed exactly once");
});

test(`listByResourceGroupAndRegion (other location ${otherLocation}) excludes the policy`, async () => {
	const { items } = await collect(jit.listByResourceGroupAndRegion(rg, otherLocation));
	assert.equal(findPolicy(items).length, 0, "policy must not be listed in another location");
});

test("initiate port 22 for 10 minutes: 202 with the request (requestor, Initiated, endTimeUtc)", async () => {
	endTime = new Date(Date.now() + 10 * 60 * 1000);
	const before = Date.now();
	const s = withStatus();
	const r = await initiator.initiate(
		rg,
		location,
		policyName,
		{
			virtualMachines: [
				{ id: vmId, ports: [{ number: 22, allowedSourceAddressPrefix: sourcePrefix, endTimeUtc: endTime }] },
			],
			justification,
		},
		s.options,
	);
	initiated = r;
	assert.equal(s.status, 202, "initiate status");
	assert.equal(typeof r.requestor, "string", "requestor");
	assert.ok(r.requestor.length > 0, "requestor must not be empty");
	if (env.JITGATE_EXPECT_REQUESTOR) assert.equal(r.requestor, env.JITGATE_EXPECT_REQUESTOR, "requestor");
	assert.ok(r.startTimeUtc instanceof Date && !isNaN(r.startTimeUtc), "startTimeUtc must be an ISO 8601 UTC time");
	assert.ok(
		r.startTimeUtc.getTime() >= before - 60000 && r.startTimeUtc.getTime() <= Date.now() + 60000,
		`startTimeUtc ${r.startTimeUtc.toISOString()} is not now`,
	);
	assert.equal(r.justification, justification, "justification echoed");
	assert.equal(r.virtualMachines.length, 1, "one VM in the request");
	assert.equal(lc(r.virtualMachines[0].id), lc(vmId), "VM id");
	const ports = r.virtualMachines[0].ports;
	assert.equal(ports.length, 1, "one port in the request");
	assert.equal(ports[0].number, 22);
	assert.equal(ports[0].status, "Initiated", "port status");
	assert.equal(ports[0].statusReason, "UserRequested", "port statusReason");
	assert.equal(ports[0].allowedSourceAddressPrefix, sourcePrefix, "allowedSourceAddressPrefix");
	assert.ok(ports[0].endTimeUtc instanceof Date && !isNaN(ports[0].endTimeUtc), "endTimeUtc");
	assert.ok(
		nearlyEqualTimes(ports[0].endTimeUtc, endTime, 1000),
		`endTimeUtc ${ports[0].endTimeUtc.toISOString()} != requested ${endTime.toISOString()}`,
	);
});

test("get after initiate shows the request in properties.requests", async () => {
	assert.ok(initiated, "initiate did not succeed");
	const p = await jit.get(rg, location, policyName);
	assert.ok(Array.isArray(p.requests) && p.requests.length >= 1, "properties.requests must hold the request");
	const match = p.requests.filter((q) =>
		(q.virtualMachines || []).some(
			(v) =>
				lc(v.id) === lc(vmId) &&
				(v.ports || []).some(
					(port) =>
						port.number === 22 &&
						port.status === "Initiated" &&
						port.endTimeUtc instanceof Date &&
						nearlyEqualTimes(port.endTimeUtc, endTime, 1000),
				),
		),
	);
	assert.equal(match.length, 1, `exactly one Initiated request for port 22 ending ${endTime.toISOString()}`);
	assert.equal(match[0].requestor, initiated.requestor, "requestor");
	assert.ok(match[0].startTimeUtc instanceof Date && !isNaN(match[0].startTimeUtc), "startTimeUtc");
	const port = match[0].virtualMachines.find((v) => lc(v.id) === lc(vmId)).ports.find((x) => x.number === 22);
	assert.equal(port.statusReason, "UserRequested", "statusReason");
	assert.equal(port.allowedSourceAddressPrefix, sourcePrefix, "allowedSourceAddressPrefix");
});

test("initiate for a port the policy does not have: RestError 400 with a code", async () => {
	await expectRestError(
		initiator.initiate(rg, location, policyName, {
			virtualMachines: [
				{
					id: vmId,
					ports: [{ number: 2222, allowedSourceAddressPrefix: sourcePrefix, endTimeUtc: new Date(Date.now() + 600000) }],
				},
			],
		}),
		400,
		"initiate port 2222",
	);
});

test("initiate longer than maxRequestAccessDuration (PT3H): RestError 400", async () => {
	await expectRestError(
		initiator.initiate(rg, location, policyName, {
			virtualMachines: [
				{
					id: vmId,
					ports: [{ number: 22, allowedSourceAddressPrefix: sourcePrefix, endTimeUtc: new Date(Date.now() + 4 * 3600000) }],
				},
			],
		}),
		400,
		"initiate for 4 hours",
	);
});

test("initiate from an address outside allowedSourceAddressPrefixes: RestError 400", async () => {
	await expectRestError(
		initiator.initiate(rg, location, policyName, {
			virtualMachines: [
				{
					id: vmId,
					ports: [{ number: 3389, allowedSourceAddressPrefix: "203.0.113.5", endTimeUtc: new Date(Date.now() + 600000) }],
				},
			],
		}),
		400,
		"initiate 3389 from 203.0.113.5",
	);
});

test("a wrong client secret: the credential fails with jitgated's invalid_client", async () => {
	const wrong = `jcs_${crypto.randomBytes(8).toString("hex")}_${crypto.randomBytes(32).toString("base64url")}`;
	const bad = makeClient(credential(env.JITGATE_CLIENT_ID, wrong));
	let err;
	try {
		await bad.jitNetworkAccessPolicies.get(rg, location, policyName);
	} catch (e) {
		err = e;
	}
	assert.ok(err, "get with a wrong secret must fail");
	// @azure/identity turns MSAL's invalid_client into AuthenticationRequiredError.
	assert.ok(/^Authentication/.test(err.name), describeError(err));
	assert.match(String(err.message), /invalid_client/, "jitgated's OAuth2 error is passed on");
	assert.match(String(err.message), /Client authentication failed/, "with its description");
});

if (env.JITGATE_REVOKE_CLIENT_ID) {
	test("a revoked client secret: its cached access token gets RestError 401 at once", async () => {
		const reader = makeClient(credential(env.JITGATE_REVOKE_CLIENT_ID, env.JITGATE_REVOKE_CLIENT_SECRET));
		await reader.jitNetworkAccessPolicies.get(rg, location, policyName); // signs in, caches
		const owner = await ownerCredential.getToken(scope);
		const url = `${endpoint}/providers/Jitgate/principals/${env.JITGATE_REVOKE_CLIENT_ID}` +
			`/clientSecrets/${env.JITGATE_REVOKE_SECRET_ID}?api-version=2020-01-01`;
		const r = await fetch(url, { method: "DELETE", headers: { Authorization: `Bearer ${owner.token}` } });
		assert.equal(r.status, 200, "the Owner revokes the reader's secret");
		await expectRestError(reader.jitNetworkAccessPolicies.get(rg, location, policyName), 401,
			"get with the revoked secret's access token");
	});
}

test("createOrUpdate accepts the object get returned (read-only fields and requests included)", async () => {
	const p = await jit.get(rg, location, policyName);
	portRule(p, 3389).maxRequestAccessDuration = "PT2H";
	const s = withStatus();
	const updated = await jit.createOrUpdate(rg, location, policyName, p, s.options);
	assert.equal(s.status, 200, "PUT status");
	checkPolicyShape(updated, "PUT (update) response");
	assert.equal(portRule(updated, 3389).maxRequestAccessDuration, "PT2H", "update applied");
	const again = await jit.get(rg, location, policyName);
	assert.equal(portRule(again, 3389).maxRequestAccessDuration, "PT2H", "update persisted");
	assert.equal(portRule(again, 22).maxRequestAccessDuration, "PT3H", "port 22 unchanged");
});

test("delete: 200 and no exception", async () => {
	const s = withStatus();
	await jit.delete(rg, location, policyName, s.options);
	assert.equal(s.status, 200, "DELETE of an existing policy");
});

test("get after delete: RestError 404 with a code", async () => {
	await expectRestError(jit.get(rg, location, policyName), 404, "get after delete");
});

test("list after delete no longer contains the policy", async () => {
	const { items } = await collect(jit.list());
	assert.equal(findPolicy(items).length, 0, "deleted policy still listed");
});

test("delete again: 204 and no exception", async () => {
	const s = withStatus();
	await jit.delete(rg, location, policyName, s.options);
	assert.equal(s.status, 204, "DELETE of a missing policy");
});

// ---------------------------------------------------------------- run

console.log(`1..${tests.length}`);
console.log(`# endpoint ${endpoint}, subscription ${subscriptionId}, rg ${rg}, location ${location}, policy ${policyName}`);
let failed = 0;
let unreachable = ""; // set when the server cannot be talked to at all (TLS, refused, reset)
for (let i = 0; i < tests.length; i++) {
	const { name, fn } = tests[i];
	if (unreachable) {
		failed += 1;
		console.log(`not ok ${i + 1} - ${name}`);
		diag(`not run: ${unreachable}`);
		continue;
	}
	try {
		await fn();
		console.log(`ok ${i + 1} - ${name}`);
	} catch (e) {
		failed += 1;
		console.log(`not ok ${i + 1} - ${name}`);
		diag(describeError(e));
		// No HTTP status: the request never got an answer (after the SDK's own retries).
		if (isRestError(e) && e.statusCode === undefined && !String(e.message).includes("deserializ")) {
			unreachable = `jitgated at ${endpoint} not reachable: ${e.code || ""} ${e.message}`;
		}
	}
}

// Leave nothing behind when an earlier failure skipped the delete.
if (!unreachable) {
	try {
		await jit.delete(rg, location, policyName);
	} catch {
		// best effort
	}
}

console.log(`# ${tests.length - failed} of ${tests.length} test points passed`);
process.exit(failed ? 1 : 0);
