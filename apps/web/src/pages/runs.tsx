/** Placeholder: replaced by the page's implementation. */
export default function RunsPage() {
  return <h1 className="text-xl font-semibold">runs</h1>;
}
