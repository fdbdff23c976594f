import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { queryClient, setUnauthenticatedHandler } from "./api/query-client.js";
import { setCsrfToken } from "./api/client.js";
import { router } from "./router.js";
import "./styles.css";

// The session ended while a page was open: forget everything cached and ask to sign in, coming back here.
setUnauthenticatedHandler(() => {
  const here = router.state.location;
  if (here.pathname === "/sign-in") return;
  setCsrfToken(null);
  queryClient.clear();
  void router.navigate({ to: "/sign-in", search: { next: here.href } });
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
