import type { SubmitRequest, SubmitResult } from "@ferry/core";
import { FakeComputeProvider } from "@ferry/core/testing";
import { preciseNow } from "./stats.js";

/**
 * The fake platform, instant (job variables `{}`: complete after 0 ms), noting when the dispatcher first
 * handed it each run. The timestamp is taken before anything else in `submit`, so it measures the
 * control plane up to the provider call and none of the provider.
 */
export class TimedFakeProvider extends FakeComputeProvider {
  /** Flow run id → first `submit` call, epoch ms (see `preciseNow`). */
  readonly submittedAt = new Map<string, number>();

  override submit(request: SubmitRequest): Promise<SubmitResult> {
    const at = preciseNow();
    if (!this.submittedAt.has(request.flowRun.id)) this.submittedAt.set(request.flowRun.id, at);
    return super.submit(request);
  }
}
