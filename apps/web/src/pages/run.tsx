/** Placeholder: replaced by the page's implementation. */
export default function RunPage() {
  return <h1 className="text-xl font-semibold">run</h1>;
}
