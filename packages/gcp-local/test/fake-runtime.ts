import type { ContainerExit, ContainerHandle, ContainerLaunch, ContainerRuntime, OutputLine } from "../src/index.js";

/** What a fake container does: print lines, then exit with a code, or run until stopped (`exitCode: null`). */
export interface FakeBehaviour {
  lines?: string[];
  exitCode: number | null;
  oomKilled?: boolean;
}

export class FakeContainer implements ContainerHandle {
  readonly id: string;
  stoppedWith: number | null = null;
  removed = false;
  private exit!: (exit: ContainerExit) => void;
  private readonly exited = new Promise<ContainerExit>((resolve) => (this.exit = resolve));

  constructor(
    readonly launch: ContainerLaunch,
    private readonly behaviour: FakeBehaviour,
  ) {
    this.id = `fake-${launch.name}`;
    if (behaviour.exitCode !== null) setTimeout(() => this.exit({ exitCode: behaviour.exitCode!, oomKilled: behaviour.oomKilled === true }), 20);
  }

  async follow(onLine: (line: OutputLine) => void): Promise<void> {
    for (const message of this.behaviour.lines ?? []) onLine({ stream: "stdout", timestamp: Date.now(), message });
    await this.exited;
  }
  wait(): Promise<ContainerExit> {
    return this.exited;
  }
  async stop(graceSeconds: number): Promise<void> {
    this.stoppedWith = graceSeconds;
    this.exit({ exitCode: 143, oomKilled: false });
  }
  async remove(): Promise<void> {
    this.removed = true;
  }
}

/** A hand-written ContainerRuntime: the images it "has", and a behaviour chosen per launch. */
export class FakeRuntime implements ContainerRuntime {
  readonly containers: FakeContainer[] = [];
  constructor(
    readonly images: Set<string>,
    private readonly behave: (launch: ContainerLaunch) => FakeBehaviour,
  ) {}
  async hasImage(image: string): Promise<boolean> {
    return this.images.has(image);
  }
  async start(launch: ContainerLaunch): Promise<ContainerHandle> {
    const container = new FakeContainer(launch, this.behave(launch));
    this.containers.push(container);
    return container;
  }
  async find(): Promise<ContainerHandle | null> {
    return null;
  }
  async removeAll(): Promise<void> {}
}
