// vectors.mjs prints signature test vectors made by the providers' own
// npm libraries, so that hookrig's Go schemes are checked against code the
// providers ship rather than against our reading of their docs.
// Run it through vectors.sh (which installs the packages into a temp dir);
// the printed JSON is committed as vectors.json and verified by
// TestOfficialVectors in ../vectors_test.go.
import { createRequire } from "node:module";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const dir = process.env.VECTORS_NODE_DIR;
if (!dir) {
  console.error("vectors.mjs: VECTORS_NODE_DIR (the dir holding node_modules) is not set; run vectors.sh");
  process.exit(2);
}
const require = createRequire(join(dir, "package.json"));
// Read package.json from disk: several packages do not export it.
const version = (p) => JSON.parse(readFileSync(join(dir, "node_modules", p, "package.json"), "utf8")).version;

const Stripe = require("stripe");
const svix = require("svix");
const standardwebhooks = require("standardwebhooks");
// ESM-only package: import it by file URL from the install dir.
const octokit = await import(pathToFileURL(join(dir, "node_modules/@octokit/webhooks-methods/dist-node/index.js")).href);

// Fixed inputs: the timestamps are in the past on purpose, the Go test
// verifies each vector with "now" set to its timestamp.
const bodies = [
  '{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"payment_intent.succeeded","data":{"object":{"amount":2000}}}',
  '{"id":"evt_unicode","data":{"name":"Zoë ✓","hookrig_id":"ev-000042"}}',
];
const ts = [1700000000, 1614265330];

const out = { generated_by: "reference/webhook/testdata/vectors.sh", node: process.version, libraries: {}, vectors: [] };

// Stripe: keyed with the whole whsec_ string as bytes.
out.libraries.stripe = version("stripe");
{
  const stripe = new Stripe("sk_test_hookrig_vectors");
  const secret = "whsec_test_hookrig_0123456789abcdef";
  bodies.forEach((body, i) => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: ts[i] });
    // Prove the library accepts what it made before we commit it.
    stripe.webhooks.constructEvent(body, header, secret, 1e10);
    out.vectors.push({ scheme: "stripe", library: "stripe", secrets: [secret], id: JSON.parse(body).id, timestamp: ts[i], body, headers: { "Stripe-Signature": header } });
  });
}

// GitHub: @octokit/webhooks-methods sign(secret, payload) -> "sha256=<hex>".
out.libraries["@octokit/webhooks-methods"] = version("@octokit/webhooks-methods");
{
  const secrets = ["It's a Secret to Everybody", "hookrig-github-secret"];
  for (let i = 0; i < bodies.length; i++) {
    const sig = await octokit.sign(secrets[i], bodies[i]);
    if (!(await octokit.verify(secrets[i], bodies[i], sig))) throw new Error("octokit does not verify its own signature");
    const id = `72d3162e-cc78-11e3-81ab-4c9367dc095${i}`;
    out.vectors.push({ scheme: "github", library: "@octokit/webhooks-methods", secrets: [secrets[i]], id, body: bodies[i], headers: { "X-Hub-Signature-256": sig, "X-GitHub-Delivery": id } });
  }
}

// Svix and Standard Webhooks: sign(msgId, Date, payload) -> "v1,<base64>".
for (const [name, lib, prefix] of [["svix", svix, "svix"], ["standard", standardwebhooks, "webhook"]]) {
  out.libraries[name === "svix" ? "svix" : "standardwebhooks"] = version(name === "svix" ? "svix" : "standardwebhooks");
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  bodies.forEach((body, i) => {
    const wh = new lib.Webhook(secret);
    const id = `msg_hookrig_${name}_${i}`;
    const sig = wh.sign(id, new Date(ts[i] * 1000), body);
    const headers = { [`${prefix}-id`]: id, [`${prefix}-timestamp`]: String(ts[i]), [`${prefix}-signature`]: sig };
    out.vectors.push({ scheme: name, library: name === "svix" ? "svix" : "standardwebhooks", secrets: [secret], id, timestamp: ts[i], body, headers });
  });
}

// Shopify publishes no signed example and no small official signing
// library; this vector follows the recipe in Shopify's verification guide
// (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries):
// base64 HMAC-SHA256 of the raw body keyed by the client secret, computed by
// node's own crypto, so that a Go mistake that signs and verifies
// symmetrically (hex for base64, say) still fails.
out.libraries["node:crypto"] = process.version;
{
  const { createHmac } = await import("node:crypto");
  const secret = "hush-shopify-client-secret";
  bodies.forEach((body, i) => {
    const id = `b54557e4-bdd9-4b37-8a5f-bf7d70bcd04${i}`;
    const sig = createHmac("sha256", secret).update(body, "utf8").digest("base64");
    out.vectors.push({ scheme: "shopify", library: "node:crypto", secrets: [secret], id, body, headers: { "X-Shopify-Hmac-Sha256": sig, "X-Shopify-Webhook-Id": id } });
  });
}

process.stdout.write(JSON.stringify(out, null, 2) + "\n");
