/** Placeholder: replaced by the page's implementation. */
export default function DeploymentPage() {
  return <h1 className="text-xl font-semibold">deployment</h1>;
}
