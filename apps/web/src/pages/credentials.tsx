import { useState } from "react";
import { useCredentialsPages, useDeleteCredentials } from "../api/credentials.js";
import { ListFooter } from "../components/list-footer.js";
import { PageHeader } from "../components/page-header.js";
import { NewCredentialsDialog } from "../components/new-credentials-dialog.js";
import { Button } from "../components/button.js";
import { ConfirmDialog } from "../components/dialog.js";
import { Empty, ErrorState, Loading } from "../components/states.js";
import { Table, Td, Th, Tr } from "../components/table.js";
import { formatTime } from "../components/time.js";

/** Credentials ("blocks"): names and types only; their values are never shown. */
export default function CredentialsPage() {
  const credentials = useCredentialsPages();
  const [deleting, setDeleting] = useState<string | null>(null);
  const remove = useDeleteCredentials();
  return (
    <>
      <PageHeader
        title="Credentials"
        description="What push pools and private git sources use to reach your accounts. Values are stored encrypted and never shown after saving."
        actions={<NewCredentialsDialog />}
      />
      {credentials.query.isPending ? (
        <Loading />
      ) : credentials.query.isError ? (
        <ErrorState error={credentials.query.error} retry={() => void credentials.query.refetch()} />
      ) : !credentials.items?.length ? (
        <Empty title="No credentials yet">Add some with "New credentials", or `ferry credentials create`.</Empty>
      ) : (
        <Table label="Credentials">
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Type</Th>
              <Th>Updated</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody>
            {credentials.items.map((item) => (
              <Tr key={item.id}>
                <Td className="font-medium">{item.name}</Td>
                <Td className="font-mono text-xs">{item.type}</Td>
                <Td>{formatTime(item.updated_at)}</Td>
                <Td className="text-right">
                  <Button size="sm" variant="ghost" aria-label={`Delete ${item.name}`} onClick={() => setDeleting(item.name)}>
                    Delete
                  </Button>
                </Td>
              </Tr>
            ))}
          </tbody>
        </Table>
      )}
      {credentials.items && credentials.items.length > 0 && (
        <ListFooter
          shown={credentials.items.length}
          total={credentials.total}
          noun="credentials"
          hasMore={credentials.query.hasNextPage}
          loadingMore={credentials.query.isFetchingNextPage}
          loadMore={() => void credentials.query.fetchNextPage()}
        />
      )}
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => {
          if (!open) {
            setDeleting(null);
            remove.reset();
          }
        }}
        title={`Delete credentials '${deleting ?? ""}'?`}
        description="The server refuses while a pool or deployment uses them."
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => deleting && remove.mutate(deleting, { onSuccess: () => setDeleting(null) })}
      />
    </>
  );
}
