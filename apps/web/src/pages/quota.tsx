import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { formatNumber, quotaFigures, useQuota, useQuotaUsage } from "../api/quota.js";
import { PageHeader } from "../components/page-header.js";
import { Section } from "../components/details.js";
import { Empty, ErrorState, Loading } from "../components/states.js";

/** Managed execution against the tier's limits; recharts lives in this page's chunk only. */
export default function QuotaPage() {
  const quota = useQuota();
  return (
    <>
      <PageHeader title="Quota" description="Managed execution (ferry:managed pools) against your tier's limits. Push pools run in your own cloud and do not count." />
      {quota.isPending ? (
        <Loading />
      ) : quota.isError ? (
        <ErrorState error={quota.error} retry={() => void quota.refetch()} />
      ) : (
        <QuotaFigures figures={quotaFigures(quota.data)} tier={quota.data.tier} periodStart={quota.data.period_start} queued={quota.data.usage.queued_managed_runs} />
      )}
      <Section title="Compute hours per day">
        <UsageChart />
      </Section>
    </>
  );
}

function QuotaFigures(props: { figures: ReturnType<typeof quotaFigures>; tier: string; periodStart: string; queued: number }) {
  const { figures } = props;
  const cards: Array<[string, string, string, string?]> = [
    ["Compute hours this month", figures.computeHours, "quota-compute-hours", `since ${new Date(props.periodStart).toLocaleDateString()}`],
    ["Concurrent runs", figures.concurrentRuns, "quota-concurrent-runs", props.queued > 0 ? `${props.queued} waiting for a slot` : undefined],
    ["Managed pools", figures.pools, "quota-pools"],
  ];
  return (
    <>
      <p className="mb-4 text-sm">
        Tier: <span className="font-semibold uppercase">{props.tier}</span>
      </p>
      <div className="grid gap-4 sm:grid-cols-3">
        {cards.map(([label, value, testId, note]) => (
          <div key={testId} className="rounded-md border border-slate-200 p-4 dark:border-slate-700">
            <p className="text-sm text-slate-700 dark:text-slate-300">{label}</p>
            <p className="mt-1 text-2xl font-semibold" data-testid={testId}>
              {value}
            </p>
            {note && <p className="mt-1 text-xs text-slate-700 dark:text-slate-300">{note}</p>}
          </div>
        ))}
      </div>
    </>
  );
}

function UsageChart() {
  const usage = useQuotaUsage(30);
  if (usage.isPending) return <Loading />;
  if (usage.isError) return <ErrorState error={usage.error} retry={() => void usage.refetch()} />;
  if (usage.data.every((day) => day.compute_hours === 0)) return <Empty title="No managed compute in the last 30 days" />;
  const total = usage.data.reduce((sum, day) => sum + day.compute_hours, 0);
  return (
    <figure>
      <div className="h-64 w-full text-slate-700 dark:text-slate-300" aria-hidden>
        <ResponsiveContainer width="100%" height="100%">
          {/* No keyboard layer: the chart is hidden from assistive technology (the caption says it in words), and a focusable element inside aria-hidden is an axe violation. */}
          <BarChart data={usage.data} margin={{ top: 8, right: 8, bottom: 8, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid strokeDasharray="3 3" stroke="currentColor" strokeOpacity={0.2} />
            <XAxis dataKey="date" tickFormatter={(date: string) => date.slice(5)} stroke="currentColor" fontSize={12} />
            <YAxis stroke="currentColor" fontSize={12} width={56} />
            <Tooltip formatter={(value) => [`${Number(value).toFixed(2)} h`, "Compute"]} />
            <Bar dataKey="compute_hours" fill="#2563eb" />
          </BarChart>
        </ResponsiveContainer>
      </div>
      <figcaption className="mt-2 text-sm text-slate-700 dark:text-slate-300">
        {formatNumber(total)} compute hours over the last 30 days, {usage.data[0]?.date} to {usage.data.at(-1)?.date}.
      </figcaption>
    </figure>
  );
}
