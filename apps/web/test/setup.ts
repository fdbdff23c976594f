import { configure } from "@testing-library/react";

// Pages are lazy chunks (the quota page brings recharts): on a loaded 2-core CI machine the first import
// of one in jsdom can take seconds, longer than testing-library's 1 s default for findBy*/waitFor. The
// wait ends as soon as the element appears; this only bounds how long a missing element is waited for.
configure({ asyncUtilTimeout: 15_000 });
