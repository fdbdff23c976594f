// An example flow: Ferry imports this module and calls `hello` with the run's parameters.
export async function hello(params: { name?: string } = {}): Promise<{ greeting: string }> {
  const greeting = `Hello, ${params.name ?? "world"}!`;
  console.log(greeting);
  return { greeting };
}
