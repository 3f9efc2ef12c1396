/**
 * A tiny XML well-formedness checker for tests: balanced tags, quoted
 * attributes without raw `<` or bare `&`, text without raw `<` or bare `&`,
 * one root element. Returns the element names in document order.
 * @module
 */

const NAME = "[A-Za-z_:][-A-Za-z0-9_:.]*";
const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;

function checkText(s: string, where: string): void {
  const bare = s.replace(ENTITY, "");
  if (bare.includes("&")) {
    throw new Error(`bare & in ${where}: ${JSON.stringify(s.slice(0, 80))}`);
  }
  if (bare.includes("<")) throw new Error(`raw < in ${where}`);
}

/** Checks `xml`; throws an Error naming the first problem. */
export function checkXml(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  if (xml.startsWith("<?xml")) {
    const end = xml.indexOf("?>");
    if (end < 0) throw new Error("unterminated XML declaration");
    i = end + 2;
  }
  const tagRe = new RegExp(
    `^<(/?)(${NAME})((?:\\s+${NAME}\\s*=\\s*"[^"]*")*)\\s*(/?)>`,
  );
  while (i < xml.length) {
    const lt = xml.indexOf("<", i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    checkText(text, `text at ${i}`);
    if (stack.length === 0 && text.trim() !== "") {
      throw new Error(`text outside the root at ${i}`);
    }
    if (lt < 0) break;
    const m = tagRe.exec(xml.slice(lt, lt + 100000));
    if (!m) {
      throw new Error(
        `malformed tag at ${lt}: ${JSON.stringify(xml.slice(lt, lt + 60))}`,
      );
    }
    const [all, close, name, attrs, selfClose] = m;
    for (const a of attrs.matchAll(/"([^"]*)"/g)) {
      checkText(a[1], `attribute of <${name}>`);
    }
    const attrNames = [...attrs.matchAll(new RegExp(`(${NAME})\\s*=`, "g"))]
      .map((x) => x[1]);
    if (new Set(attrNames).size !== attrNames.length) {
      throw new Error(`duplicate attribute in <${name}>`);
    }
    if (close) {
      if (stack.pop() !== name) {
        throw new Error(`mismatched </${name}> at ${lt}`);
      }
    } else {
      if (stack.length === 0) roots++;
      names.push(name);
      if (!selfClose) stack.push(name);
    }
    i = lt + all.length;
  }
  if (stack.length) throw new Error(`unclosed <${stack.join("><")}>`);
  if (roots !== 1) throw new Error(`expected one root element, found ${roots}`);
  return names;
}
