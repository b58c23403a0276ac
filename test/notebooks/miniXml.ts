/** Test helper: a strict XML reader to check that reports are well-formed. */
/**
 * A strict little XML reader for the tests: elements, attributes, text; throws on anything
 * malformed (unknown entity, raw "<" in text, unbalanced tags, text outside the root).
 */
export interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}

/** Parse `xml` (with its XML declaration) into its root element. */
export function parseXml(xml: string): El {
  const unescape = (s: string): string => {
    if (/&(?!(amp|lt|gt|quot|apos);)/.test(s)) throw new Error(`bad entity in ${JSON.stringify(s.slice(0, 40))}`);
    if (s.includes("<")) throw new Error("raw < in text");
    return s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
  };
  let body = xml.replace(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n/, "");
  if (body === xml) throw new Error("no XML declaration");
  body = body.replace(/<!--[\s\S]*?-->/g, "");
  const root: El = { name: "#root", attrs: {}, children: [], text: "" };
  const stack: El[] = [root];
  const tag = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/g;
  let at = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    stack[stack.length - 1].text += unescape(body.slice(at, m.index));
    at = m.index + m[0].length;
    const [, close, name, attrText, selfClose] = m;
    if (close) {
      const top = stack.pop();
      if (!top || top.name !== name) throw new Error(`</${name}> closes <${top?.name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) attrs[a[1]] = unescape(a[2]);
    const el: El = { name, attrs, children: [], text: "" };
    stack[stack.length - 1].children.push(el);
    if (!selfClose) stack.push(el);
  }
  if (body.slice(at).trim() !== "") throw new Error("text after the root element");
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1].name}>`);
  if (root.children.length !== 1) throw new Error("one root element expected");
  return root.children[0];
}
