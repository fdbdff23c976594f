/** A value as it appears in an XML response; arrays become a wrapper of repeated list elements. */
export type XmlValue = string | number | boolean | Date | null | undefined | XmlObject | XmlValue[];
export interface XmlObject {
  [element: string]: XmlValue;
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/**
 * Writes `{ a: "x", list: [{ b: 1 }] }` as `<a>x</a><list><member><b>1</b></member></list>`. The
 * list element is `member` for the query protocol (IAM, STS) and `item` for EC2. Absent values
 * (`null`, `undefined`) are left out, as AWS leaves out members it has no value for.
 */
export function writeXml(body: XmlObject, listElement: "member" | "item"): string {
  let out = "";
  for (const [name, value] of Object.entries(body)) out += writeElement(name, value, listElement);
  return out;
}

function writeElement(name: string, value: XmlValue, listElement: "member" | "item"): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) {
    const items = value.map((v) => writeElement(listElement, v, listElement)).join("");
    return items === "" ? `<${name}/>` : `<${name}>${items}</${name}>`;
  }
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === "object") return `<${name}>${writeXml(value, listElement)}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}
