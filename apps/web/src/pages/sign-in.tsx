/** Placeholder: replaced by the page's implementation. */
export default function SignInPage() {
  return <h1 className="text-xl font-semibold">sign-in</h1>;
}
