import { useState, type FormEvent } from "react";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { safeNext, useSignIn } from "../api/session.js";
import { Button } from "../components/button.js";
import { Field, TextInput } from "../components/field.js";
import { FormError } from "../components/states.js";
import { usePageTitle } from "../components/page-header.js";

/** Sign in with an API key; the server answers with a session cookie and the key goes no further. */
export default function SignInPage() {
  const { next } = useSearch({ from: "/sign-in" });
  const navigate = useNavigate();
  const signIn = useSignIn();
  const [apiKey, setApiKey] = useState("");
  usePageTitle("Sign in");

  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate(apiKey.trim(), {
      onSuccess: () => {
        setApiKey("");
        void navigate({ href: safeNext(next), replace: true });
      },
    });
  };

  return (
    <div className="flex min-h-screen items-center justify-center bg-white px-4 text-slate-900 dark:bg-slate-950 dark:text-slate-100">
      <main className="w-full max-w-md space-y-6">
        <div>
          <p className="text-lg font-semibold">Ferry</p>
          <h1 className="mt-2 text-2xl font-semibold">Sign in</h1>
        </div>
        <form onSubmit={submit} className="space-y-4">
          <Field
            label="API key"
            hint={
              <>
                <code>ferry server start</code> prints your workspace's first key; make another with{" "}
                <code>ferry api-key create NAME</code>. <code>ferry ui</code> opens this page already signed in.
              </>
            }
          >
            {({ id, describedBy }) => (
              <TextInput
                id={id}
                aria-describedby={describedBy}
                type="password"
                autoComplete="off"
                spellCheck={false}
                required
                value={apiKey}
                onChange={(event) => setApiKey(event.target.value)}
              />
            )}
          </Field>
          <FormError error={signIn.error} />
          <Button type="submit" variant="primary" disabled={signIn.isPending || apiKey.trim() === ""} className="w-full">
            Sign in
          </Button>
        </form>
      </main>
    </div>
  );
}
