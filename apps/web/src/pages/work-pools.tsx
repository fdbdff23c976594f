/** Placeholder: replaced by the page's implementation. */
export default function WorkPoolsPage() {
  return <h1 className="text-xl font-semibold">work-pools</h1>;
}
