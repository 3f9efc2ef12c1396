// Test helper: a private redis-server on a free loopback port with a temp
// dir (append-only file on, RDB snapshots off), and Deno worker subprocesses.
// Tests that need it skip themselves, with a visible message, only where
// redis-server cannot be run.

/** Whether `redis-server` can be run here (checked once). */
export const REDIS_AVAILABLE: boolean = (() => {
  try {
    const r = new Deno.Command("redis-server", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return r.success;
  } catch {
    return false;
  }
})();

if (!REDIS_AVAILABLE) {
  console.warn(
    "SKIP distributed tests: redis-server cannot be run here (apt-get install redis-server)",
  );
}

/** A running private server. */
export interface RedisServer {
  /** Port on 127.0.0.1. */
  port: number;
  /** URL (with the password when one was set). */
  url: string;
  /** The data dir. */
  dir: string;
  /** Stop the server and remove its dir. */
  stop(): Promise<void>;
  /** Kill the server with SIGKILL (dir kept until stop). */
  kill(): Promise<void>;
  /** Start it again on the same port and dir (after kill). */
  restart(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Start a redis-server for one test.
 * @param options password to require
 * @returns the server
 */
export async function startRedis(
  options: {
    password?: string;
    /** An ACL user with these rules (default user disabled), e.g. `["~nf:*", "+@all", "-@dangerous"]`. */
    aclUser?: { name: string; password: string; rules: string[] };
    /** Serve TLS only (rediss://) with these PEM files; clients are not authenticated by certificate. */
    tls?: { cert: string; key: string; ca: string };
  } = {},
): Promise<RedisServer> {
  const dir = await Deno.makeTempDir({ prefix: "neurofit-redis-" });
  const spawn = async (port: number) => {
    const listen = options.tls
      ? [
        "--port",
        "0",
        "--tls-port",
        String(port),
        "--tls-cert-file",
        options.tls.cert,
        "--tls-key-file",
        options.tls.key,
        "--tls-ca-cert-file",
        options.tls.ca,
        "--tls-auth-clients",
        "no",
      ]
      : ["--port", String(port)];
    const args = [
      ...listen,
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "yes",
      "--dir",
      dir,
      "--maxmemory-policy",
      "noeviction",
    ];
    if (options.password) args.push("--requirepass", options.password);
    if (options.aclUser) {
      const u = options.aclUser;
      args.push("--user", u.name, "on", `>${u.password}`, ...u.rules);
      args.push("--user", "default", "off");
    }
    const proc = new Deno.Command("redis-server", {
      args,
      stdout: "null",
      stderr: "null",
    }).spawn();
    let alive = true;
    proc.status.then(() => alive = false);
    const t0 = Date.now();
    let up = false;
    while (alive && Date.now() - t0 < 5000) {
      try {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        c.close();
        up = true;
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 30));
      }
    }
    if (!up) {
      if (alive) proc.kill("SIGKILL");
      await proc.status;
      return null;
    }
    return proc;
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const started = await spawn(port);
    if (!started) continue; // the port was taken in between: try another
    let proc: Deno.ChildProcess = started;
    let stopped = false;
    const auth = options.aclUser
      ? `${options.aclUser.name}:${
        encodeURIComponent(options.aclUser.password)
      }@`
      : options.password
      ? `:${encodeURIComponent(options.password)}@`
      : "";
    return {
      port,
      dir,
      url: `${options.tls ? "rediss" : "redis"}://${auth}127.0.0.1:${port}`,
      async restart() {
        const p = await spawn(port);
        if (!p) throw new Error(`could not restart redis-server on ${port}`);
        proc = p;
        stopped = false;
      },
      async kill() {
        if (!stopped) {
          stopped = true;
          proc.kill("SIGKILL");
          await proc.status;
        }
      },
      async stop() {
        if (!stopped) {
          stopped = true;
          proc.kill("SIGTERM");
          await proc.status;
        }
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      },
    };
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw new Error("could not start redis-server on a free port");
}

/** A worker subprocess. */
export interface WorkerProcess {
  /** The child. */
  proc: Deno.ChildProcess;
  /** Everything it printed on stderr so far. */
  log(): string;
  /** Resolves when it printed a line matching `re` (or rejects when it exits). */
  waitFor(re: RegExp, ms?: number): Promise<void>;
  /** SIGKILL it. */
  kill9(): Promise<void>;
  /** SIGTERM it and wait. */
  stop(): Promise<void>;
}

/**
 * Start `deno run -A distributed/worker.ts --redis URL …` as a subprocess.
 * @param url the Redis URL
 * @param args more command-line arguments
 * @returns the worker
 */
export function startWorker(url: string, args: string[] = []): WorkerProcess {
  const script = new URL("../../distributed/worker.ts", import.meta.url);
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script.pathname, "--redis", url, ...args],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  let exited = false;
  const waiters: { re: RegExp; ok: () => void; fail: (e: Error) => void }[] =
    [];
  (async () => {
    const dec = new TextDecoder();
    for await (const chunk of proc.stderr) {
      text += dec.decode(chunk, { stream: true });
      for (const w of [...waiters]) {
        if (w.re.test(text)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.ok();
        }
      }
    }
  })().catch(() => {});
  proc.status.then(() => {
    exited = true;
    for (const w of waiters.splice(0)) {
      w.fail(new Error(`worker exited before printing ${w.re}:\n${text}`));
    }
  });
  let done = false;
  return {
    proc,
    log: () => text,
    waitFor(re: RegExp, ms = 30000): Promise<void> {
      if (re.test(text)) return Promise.resolve();
      if (exited) {
        return Promise.reject(
          new Error(`worker exited before printing ${re}:\n${text}`),
        );
      }
      return new Promise((ok, fail) => {
        const timer = setTimeout(() => {
          fail(
            new Error(`worker did not print ${re} within ${ms} ms:\n${text}`),
          );
        }, ms);
        waiters.push({
          re,
          ok: () => {
            clearTimeout(timer);
            ok();
          },
          fail: (e) => {
            clearTimeout(timer);
            fail(e);
          },
        });
      });
    },
    async kill9() {
      if (!done) {
        done = true;
        proc.kill("SIGKILL");
        await proc.status;
      }
    },
    async stop() {
      if (!done) {
        done = true;
        try {
          proc.kill("SIGTERM");
        } catch { /* already gone */ }
        await proc.status;
      }
    },
  };
}
