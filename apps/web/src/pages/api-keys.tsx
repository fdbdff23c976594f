/** Placeholder: replaced by the page's implementation. */
export default function ApiKeysPage() {
  return <h1 className="text-xl font-semibold">api-keys</h1>;
}
