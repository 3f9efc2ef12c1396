// rediss:// (TLS) with a private CA: a throw-away CA and server certificate
// made with openssl for 127.0.0.1, a TLS-only redis-server, a worker given
// --tls-ca; without the CA the connection is refused with a typed error.
// Skips (with a message) where openssl or a TLS-enabled redis-server is missing.
import assert from "node:assert/strict";
import {
  RedisConnectionError,
  redisExecutor,
  simulateBatches,
  type SimulationJob,
} from "../../distributed/mod.ts";
import { REDIS_AVAILABLE, startRedis, startWorker } from "./_redis.ts";

function run(cmd: string, args: string[], cwd: string): boolean {
  try {
    return new Deno.Command(cmd, { args, cwd, stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Make CA + server certificate in a temp dir; null when openssl is missing. */
function makeCerts():
  | { dir: string; ca: string; cert: string; key: string }
  | null {
  const dir = Deno.makeTempDirSync({ prefix: "neurofit-tls-" });
  Deno.writeTextFileSync(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
  );
  const ok = run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "2",
    "-subj",
    "/CN=neurofit-test-ca",
  ], dir) &&
    run("openssl", [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=127.0.0.1",
    ], dir) &&
    run("openssl", [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.crt",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    ], dir);
  if (!ok) {
    Deno.removeSync(dir, { recursive: true });
    return null;
  }
  return {
    dir,
    ca: `${dir}/ca.crt`,
    cert: `${dir}/server.crt`,
    key: `${dir}/server.key`,
  };
}

const certs = REDIS_AVAILABLE ? makeCerts() : null;
let tlsServer = false;
if (certs) {
  try {
    const s = await startRedis({ tls: certs });
    await s.stop();
    tlsServer = true;
  } catch {
    tlsServer = false;
  }
}
if (certs && !tlsServer) Deno.removeSync(certs.dir, { recursive: true });
if (!certs || !tlsServer) {
  console.warn(
    "SKIP tls_test: needs openssl and a redis-server built with TLS",
  );
}

const JOB: SimulationJob = {
  kind: "simulate",
  equations: "dv/dt = (El - v)/tau : volt\ntau : second (constant)",
  namespace: { El: "-70 mV" },
  dt: 1e-4,
  steps: 200,
  params: ["tau"],
  init: { v: "-60 mV" },
  output: ["v"],
  features: { v: ["mean", "last"] },
};

Deno.test({
  name:
    "rediss:// with a private CA: coordinator and worker connect, results equal local; without the CA a typed error",
  ignore: !certs || !tlsServer,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const server = await startRedis({ password: "tls-pa55", tls: certs! });
    const w = startWorker(server.url, [
      "--queue",
      "tls",
      "--tls-ca",
      certs!.ca,
    ]);
    try {
      await w.waitFor(/ready on rediss:\/\/:\*\*\*@127\.0\.0\.1/);
      const ca = await Deno.readTextFile(certs!.ca);
      const exec = await redisExecutor({
        url: server.url,
        queue: "tls",
        tlsCa: ca,
        timeoutMs: 60_000,
      });
      try {
        const theta = Array.from({ length: 30 }, (_, i) => [2e-3 + 1e-3 * i]);
        const remote = await simulateBatches(JOB, theta, {
          executor: exec,
          batchSize: 10,
        });
        const local = await simulateBatches(JOB, theta, { batchSize: 10 });
        assert.deepEqual(Array.from(remote.x), Array.from(local.x));
      } finally {
        await exec.close();
      }
      await assert.rejects(
        redisExecutor({ url: server.url, connectTimeoutMs: 3000 }),
        (e) =>
          e instanceof RedisConnectionError && e.port === server.port &&
          /certificate/.test(e.message) && !e.message.includes("tls-pa55"),
      );
    } finally {
      await w.stop();
      await server.stop();
      await Deno.remove(certs!.dir, { recursive: true }).catch(() => {});
    }
  },
});
