/** Placeholder: replaced by the page's implementation. */
export default function QuotaPage() {
  return <h1 className="text-xl font-semibold">quota</h1>;
}
