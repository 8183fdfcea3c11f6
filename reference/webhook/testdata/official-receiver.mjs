// official-receiver.mjs is a webhook receiver whose only job is to check
// signatures with the providers' official libraries: stripe's
// webhooks.constructEvent, @octokit/webhooks-methods' verify, svix's and
// standardwebhooks' Webhook.verify. Pointing hookrig's signer at it (bench
// --scheme NAME, or the reference sender with "scheme": NAME) shows that
// what hookrig signs, the provider's own code accepts.
//
//   VECTORS_NODE_DIR=<dir with node_modules> node official-receiver.mjs --scheme stripe --secret whsec_... [--port 0]
//   (or: vectors.sh receiver --scheme stripe --secret whsec_...)
//
// It listens on 127.0.0.1 only, prints "listening http://127.0.0.1:PORT",
// answers 204 to a verified POST and 400 with the library's message to any
// other, and GET /stats returns {"verified":N,"refused":N,"last_error":"..."}.
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.env.VECTORS_NODE_DIR;
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const usage = "usage: VECTORS_NODE_DIR=<dir> node official-receiver.mjs --scheme stripe|github|svix|standard --secret SECRET [--port N]";
if (!dir || !args.scheme || !args.secret) {
  console.error(usage);
  process.exit(2);
}
const require = createRequire(join(dir, "package.json"));

let verify; // (rawBody string, headers) -> Promise<void>, throws when refused
switch (args.scheme) {
  case "stripe": {
    const Stripe = require("stripe");
    const stripe = new Stripe("sk_test_hookrig_receiver");
    verify = async (body, h) => {
      stripe.webhooks.constructEvent(body, h["stripe-signature"], args.secret);
    };
    break;
  }
  case "github": {
    const octokit = await import(pathToFileURL(join(dir, "node_modules/@octokit/webhooks-methods/dist-node/index.js")).href);
    verify = async (body, h) => {
      if (!(await octokit.verify(args.secret, body, h["x-hub-signature-256"] ?? ""))) throw new Error("signature does not match");
    };
    break;
  }
  case "svix":
  case "standard": {
    const lib = require(args.scheme === "svix" ? "svix" : "standardwebhooks");
    const wh = new lib.Webhook(args.secret);
    verify = async (body, h) => {
      wh.verify(body, h);
    };
    break;
  }
  default:
    console.error(`official-receiver.mjs: unknown scheme ${JSON.stringify(args.scheme)} (want stripe, github, svix or standard)`);
    process.exit(2);
}

const stats = { verified: 0, refused: 0, last_error: "" };
const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      await verify(body, req.headers);
      stats.verified++;
      res.writeHead(204).end();
    } catch (e) {
      stats.refused++;
      stats.last_error = String(e && e.message ? e.message : e);
      res.writeHead(400, { "content-type": "text/plain" }).end(stats.last_error + "\n");
    }
  });
});
server.listen(Number(args.port ?? 0), "127.0.0.1", () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
