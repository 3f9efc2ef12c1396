/**
 * Checks the architecture rules of `docs/ARCHITECTURE.md` against the code:
 * the dependency direction between rooms, the fences around third-party code
 * and platform globals, and import cycles. The tables are parsed from the
 * document, so the documented design and the check cannot drift apart.
 *
 * Run as a script (`deno run -A tests/_tools/check_fences.ts`) or through
 * `tests/_tools/check_fences_test.ts`, which `deno task test` runs.
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

/** The rules parsed from the architecture document. */
export interface Rules {
  /** Room path prefix -> room prefixes it may import from. */
  rooms: Map<string, string[]>;
  /** Dependency (specifier prefix or global) -> path prefixes allowed to use it. */
  fences: Map<string, string[]>;
  /** Allowed exceptions: kind ("Deno." or "cycle" or a dependency) -> paths. */
  exceptions: { kind: string; where: string }[];
}

/** One violation found by {@linkcode checkFences}. */
export interface Violation {
  /** Path of the offending module, relative to the root. */
  file: string;
  /** What rule it breaks, with the offending specifier or global. */
  message: string;
}

function tableRows(md: string, heading: string): string[][] {
  const start = md.indexOf(heading);
  if (start < 0) throw new Error(`architecture document lacks "${heading}"`);
  const rows: string[][] = [];
  let inTable = false;
  for (const line of md.slice(start + heading.length).split("\n")) {
    if (line.startsWith("## ")) break;
    if (!line.startsWith("|")) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    if (cells.every((c) => /^-+$/.test(c))) continue;
    rows.push(cells);
  }
  return rows.slice(1); // drop the header row
}

function codeList(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
}

/**
 * Parses the rule tables of an architecture document.
 * @param md the markdown text of `docs/ARCHITECTURE.md`
 * @returns the rooms, fences and exceptions
 */
export function parseRules(md: string): Rules {
  const rooms = new Map<string, string[]>();
  for (
    const [room, may] of tableRows(md, "## Rooms and dependency direction")
  ) {
    rooms.set(codeList(room)[0], codeList(may ?? ""));
  }
  const fences = new Map<string, string[]>();
  for (const [dep, only] of tableRows(md, "## Fences")) {
    fences.set(codeList(dep)[0], codeList(only ?? ""));
  }
  const exceptions = tableRows(md, "## Known exceptions").map((
    [kind, where],
  ) => ({ kind: codeList(kind)[0] ?? kind, where: codeList(where)[0] }));
  return { rooms, fences, exceptions };
}

/** Removes comments and the contents of plain string literals (keeps quotes). */
function stripComments(src: string): string {
  let out = "";
  let i = 0;
  while (i < src.length) {
    const c = src[i], d = src[i + 1];
    if (c === "/" && d === "/") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === "/" && d === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? src.length : end + 2;
    } else if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === "\\" ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function specifiers(code: string): string[] {
  const out: string[] = [];
  const re =
    /^[ \t]*(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|^[ \t]*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;
  for (const m of code.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function walk(root: string, dir: string, out: string[]): void {
  for (const name of readdirSync(join(root, dir))) {
    const rel = dir ? `${dir}/${name}` : name;
    if (statSync(join(root, rel)).isDirectory()) walk(root, rel, out);
    else if (rel.endsWith(".ts")) out.push(rel);
  }
}

const under = (path: string, prefix: string): boolean =>
  prefix.endsWith("/") ? path.startsWith(prefix) : path === prefix;

/**
 * Checks every module of the rooms under `root` against the rules of
 * `root/docs/ARCHITECTURE.md`.
 * @param root the repository root (a directory path)
 * @returns the violations (empty when the code follows the document)
 */
export function checkFences(root: string): Violation[] {
  const rules = parseRules(
    readFileSync(join(root, "docs/ARCHITECTURE.md"), "utf8"),
  );
  const files: string[] = [];
  for (const room of rules.rooms.keys()) {
    if (room.endsWith("/")) {
      try {
        walk(root, room.slice(0, -1), files);
      } catch { /* a room that does not exist yet */ }
    } else if (existsSync(join(root, room))) files.push(room);
  }
  const roomOf = (f: string): string | undefined =>
    [...rules.rooms.keys()].find((r) => under(f, r));
  const excepted = (kind: string, file: string): boolean =>
    rules.exceptions.some((e) => e.kind === kind && under(file, e.where));
  const used = new Set<string>();
  const violations: Violation[] = [];
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const code = stripComments(readFileSync(join(root, file), "utf8"));
    const room = roomOf(file)!;
    const edges: string[] = [];
    for (const spec of specifiers(code)) {
      if (spec.startsWith(".")) {
        const target = normalize(join(dirname(file), spec));
        if (target.startsWith("..")) {
          violations.push({
            file,
            message: `imports outside the repository: ${spec}`,
          });
          continue;
        }
        edges.push(target);
        const troom = roomOf(target);
        if (
          troom && troom !== room && !rules.rooms.get(room)!.includes(troom)
        ) {
          violations.push({
            file,
            message: `${room} may not import ${troom} (${spec})`,
          });
        }
        continue;
      }
      if (spec.startsWith("node:")) continue;
      const dep = [...rules.fences.keys()].find((d) => spec.startsWith(d));
      if (!dep) {
        violations.push({
          file,
          message:
            `unfenced specifier "${spec}" (not resolvable by URL import)`,
        });
      } else if (!rules.fences.get(dep)!.some((p) => under(file, p))) {
        violations.push({
          file,
          message: `"${spec}" is fenced to ${
            rules.fences.get(dep)!.join(", ")
          }`,
        });
      }
    }
    graph.set(file, edges);
    for (const global of ["Deno.", "navigator.gpu"]) {
      const re = global === "Deno." ? /\bDeno\.[A-Za-z]/ : /\bnavigator\.gpu\b/;
      const bare = code.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
      if (!re.test(bare)) continue;
      if (rules.fences.get(global)!.some((p) => under(file, p))) continue;
      if (excepted(global, file)) {
        used.add(`${global} ${file}`);
        continue;
      }
      violations.push({
        file,
        message: `uses ${global} outside ${
          rules.fences.get(global)!.join(", ")
        }`,
      });
    }
  }
  for (const scc of cycles(graph)) {
    const allowed = scc.find((f) => excepted("cycle", f));
    if (allowed) {
      for (const f of scc) if (excepted("cycle", f)) used.add(`cycle ${f}`);
      continue;
    }
    violations.push({
      file: scc[0],
      message: `import cycle: ${scc.join(" -> ")}`,
    });
  }
  for (const e of rules.exceptions) {
    if (![...used].some((u) => u === `${e.kind} ${e.where}`)) {
      violations.push({
        file: e.where,
        message:
          `listed exception "${e.kind}" no longer occurs: remove it from docs/ARCHITECTURE.md`,
      });
    }
  }
  return violations;
}

/** Strongly connected components with more than one module (Tarjan 1972). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], on = new Set<string>(), out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

if (import.meta.main) {
  const root =
    relative(Deno.cwd(), new URL("../..", import.meta.url).pathname) ||
    ".";
  const v = checkFences(root);
  for (const x of v) console.error(`${x.file}: ${x.message}`);
  console.log(
    v.length ? `${v.length} violations` : "fences, direction and cycles: ok",
  );
  Deno.exit(v.length ? 1 : 0);
}
