/**
 * Connecting to Redis: URL parsing (`redis://[user:pass@]host[:port][/db]`,
 * `rediss://` for TLS), a bounded connect (typed error naming host and cause
 * within a timeout), and redaction of credentials in anything printed.
 * @module
 */
import { isIP } from "node:net";
import { Redis } from "./_deps.ts";
import { RedisConnectionError } from "./errors.ts";

/** The client type (ioredis). */
export type RedisClient = Redis;

/** Where a URL points, without its credentials. */
export interface RedisTarget {
  /** Host name or address. */
  host: string;
  /** Port (default 6379). */
  port: number;
  /** Whether TLS is used (`rediss://`). */
  tls: boolean;
  /** Database number. */
  db: number;
}

/** Client options taken from a URL (credentials included: never print them). */
export interface RedisUrlOptions {
  /** Host. */
  host: string;
  /** Port. */
  port: number;
  /** Database number. */
  db: number;
  /** ACL user name. */
  username?: string;
  /** Password. */
  password?: string;
  /** TLS settings (`rediss://`). */
  tls?: { servername?: string; ca?: string };
}

/**
 * Parse a Redis URL.
 * @param url `redis://[user:pass@]host[:port][/db]` or `rediss://…`
 * @returns the target and the client options (credentials included)
 * @throws {TypeError} not a redis:// or rediss:// URL, bad port or database
 */
export function parseRedisUrl(
  url: string,
): { target: RedisTarget; options: RedisUrlOptions } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // whatever precedes an '@' may be a password: never echo it
    const shown = url.includes("@")
      ? `***${url.slice(url.lastIndexOf("@"))}`
      : url;
    throw new TypeError(
      `not a Redis URL: ${shown} (expected redis://[user:password@]host[:port][/db])`,
    );
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new TypeError(
      `a Redis URL starts with redis:// or rediss://, got ${u.protocol}//`,
    );
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = u.port === "" ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TypeError(`bad port in the Redis URL: ${u.port}`);
  }
  const path = u.pathname.replace(/^\//, "");
  const db = path === "" ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0) {
    throw new TypeError(
      `bad database number in the Redis URL: ${JSON.stringify(path)}`,
    );
  }
  const tls = u.protocol === "rediss:";
  const options: RedisUrlOptions = { host, port, db };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  // SNI only for names (Node's TLS refuses an IP address as servername)
  if (tls) options.tls = isIP(host) ? {} : { servername: host };
  return { target: { host, port, tls, db }, options };
}

/**
 * A URL with its password replaced by `***` (for logs and messages).
 * @param url any string
 * @returns the string with `user:password@` reduced to `user:***@`
 */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^/@:]*):[^/]*@/, "$1:***@");
}

/** Options of {@linkcode connectRedis}. */
export interface ConnectOptions {
  /** Time allowed for the first connection and authentication (ms). Default 5000. */
  connectTimeoutMs?: number;
  /** After a connection was lost, how long to keep trying to reconnect (ms). Default 10000. */
  reconnectForMs?: number;
  /** Client name shown by `CLIENT LIST`. */
  name?: string;
  /** PEM certificate(s) of the CA that signed the server's certificate (`rediss://` with a private CA). */
  tlsCa?: string;
}

/**
 * Connect and authenticate, or fail with a typed error within the timeout.
 * @param url the Redis URL
 * @param options timeouts and client name
 * @returns a connected client (with an error listener, so that ioredis
 *   never prints credentials or unhandled errors)
 * @throws {RedisConnectionError} unreachable server, refused credentials, timeout
 * @throws {TypeError} a malformed URL
 */
export async function connectRedis(
  url: string,
  options: ConnectOptions = {},
): Promise<RedisClient> {
  const { target, options: base } = parseRedisUrl(url);
  const timeout = options.connectTimeoutMs ?? 5000;
  const reconnectFor = options.reconnectForMs ?? 10000;
  let connected = false;
  let lostAt = 0;
  if (options.tlsCa !== undefined) {
    if (!target.tls) {
      throw new TypeError("tlsCa is given but the URL is not rediss://");
    }
    base.tls = { ...(base.tls ?? {}), ca: options.tlsCa };
  }
  const client = new Redis({
    ...base,
    lazyConnect: true,
    connectTimeout: timeout,
    connectionName: options.name,
    maxRetriesPerRequest: 2,
    enableReadyCheck: true,
    retryStrategy: (times: number) => {
      if (!connected) return null;
      if (times === 1) lostAt = Date.now();
      if (Date.now() - lostAt > reconnectFor) return null;
      return Math.min(100 * times, 1000);
    },
  });
  let lastError: unknown = null;
  client.on("error", (e: unknown) => {
    lastError = e;
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${timeout} ms`)),
          timeout,
        );
      }),
    ]);
    connected = true;
    return client;
  } catch (e) {
    client.disconnect();
    const cause = lastError ?? e;
    throw new RedisConnectionError(
      target.host,
      target.port,
      describeRedisError(cause, base.password),
      cause,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A short cause for an error from the client, without the password.
 * @param e the error
 * @param password the password to remove, if any
 * @returns e.g. "connection refused (ECONNREFUSED)", "authentication failed (WRONGPASS …)"
 */
export function describeRedisError(e: unknown, password?: string): string {
  let msg = e instanceof Error ? e.message : String(e);
  if (password) msg = msg.split(password).join("***");
  const code = (e as { code?: string })?.code;
  if (/WRONGPASS|NOAUTH|invalid password|AUTH/i.test(msg)) {
    return `authentication failed (${msg})`;
  }
  if (code === "ECONNREFUSED") return `connection refused (${msg})`;
  if (code === "ENOTFOUND") return `host not found (${msg})`;
  if (code === "ETIMEDOUT") return `connection timed out (${msg})`;
  return msg;
}

/**
 * Wrap a failed command in a {@linkcode RedisConnectionError} when the
 * connection is the cause; other errors pass through.
 * @param client the client
 * @param url the URL (for host and port)
 * @param e the error
 * @returns the error to throw
 */
export function connectionError(
  client: RedisClient,
  url: string,
  e: unknown,
): unknown {
  const status = client.status;
  const msg = e instanceof Error ? e.message : String(e);
  const lost = status !== "ready" ||
    /Connection is closed|ECONNREFUSED|ECONNRESET|max retries|Stream isn't writeable/i
      .test(msg);
  if (!lost) return e;
  const { target, options } = parseRedisUrl(url);
  return new RedisConnectionError(
    target.host,
    target.port,
    `connection lost (${describeRedisError(e, options.password)})`,
    e,
  );
}
