/** Placeholder: replaced by the page's implementation. */
export default function WorkPoolPage() {
  return <h1 className="text-xl font-semibold">work-pool</h1>;
}
