/** Placeholder: replaced by the page's implementation. */
export default function DeploymentsPage() {
  return <h1 className="text-xl font-semibold">deployments</h1>;
}
