/**
 * The Redis fence: `distributed/` uses the Redis client only through this
 * module, by a full `npm:` specifier, so that importing `./distributed` by
 * URL (without this repository's deno.json) resolves. The version lives here
 * and nowhere else. ioredis 5.x is the maintained, widely deployed Node
 * client; it runs under Deno's npm compatibility (tested with Redis 7.0).
 * @module
 */
export { Redis } from "npm:ioredis@5.9.3";
export type { RedisOptions } from "npm:ioredis@5.9.3";
