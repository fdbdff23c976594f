/** Placeholder: replaced by the page's implementation. */
export default function CredentialsPage() {
  return <h1 className="text-xl font-semibold">credentials</h1>;
}
