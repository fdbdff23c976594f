import { useState } from "react";
import type { ApiKey } from "@ferry/core/browser";
import { useApiKeys, useDeleteApiKey } from "../api/api-keys.js";
import { ListFooter } from "../components/list-footer.js";
import { PageHeader } from "../components/page-header.js";
import { NewApiKeyDialog } from "../components/new-api-key-dialog.js";
import { Button } from "../components/button.js";
import { ConfirmDialog } from "../components/dialog.js";
import { Empty, ErrorState, Loading } from "../components/states.js";
import { Table, Td, Th, Tr } from "../components/table.js";
import { Time } from "../components/time.js";

export default function ApiKeysPage() {
  const keys = useApiKeys();
  const [deleting, setDeleting] = useState<ApiKey | null>(null);
  const remove = useDeleteApiKey();
  return (
    <>
      <PageHeader
        title="API keys"
        description="Keys for the CLI, CI and the API. A key is shown once, when it is made; the list shows only its first characters."
        actions={<NewApiKeyDialog />}
      />
      {keys.query.isPending ? (
        <Loading />
      ) : keys.query.isError ? (
        <ErrorState error={keys.query.error} retry={() => void keys.query.refetch()} />
      ) : !keys.items?.length ? (
        <Empty title="No API keys" />
      ) : (
        <Table label="API keys">
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Key</Th>
              <Th>Created</Th>
              <Th>Last used</Th>
              <Th>
                <span className="sr-only">Actions</span>
              </Th>
            </tr>
          </thead>
          <tbody>
            {keys.items.map((key) => (
              <Tr key={key.id}>
                <Td className="font-medium">{key.name}</Td>
                <Td className="font-mono text-xs">{key.prefix}…</Td>
                <Td>
                  <Time iso={key.created_at} />
                </Td>
                <Td>
                  <Time iso={key.last_used_at} />
                </Td>
                <Td className="text-right">
                  <Button size="sm" variant="ghost" aria-label={`Delete ${key.name}`} onClick={() => setDeleting(key)}>
                    Delete
                  </Button>
                </Td>
              </Tr>
            ))}
          </tbody>
        </Table>
      )}
      {keys.items && keys.items.length > 0 && (
        <ListFooter
          shown={keys.items.length}
          total={keys.total}
          noun="API keys"
          hasMore={keys.query.hasNextPage}
          loadingMore={keys.query.isFetchingNextPage}
          loadMore={() => void keys.query.fetchNextPage()}
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
        title={`Delete API key '${deleting?.name ?? ""}'?`}
        description="Whatever uses this key stops working at once. The workspace's last key cannot be deleted."
        confirmLabel="Delete"
        pending={remove.isPending}
        error={remove.error}
        onConfirm={() => deleting && remove.mutate(deleting.id, { onSuccess: () => setDeleting(null) })}
      />
    </>
  );
}
