import { fileURLToPath } from "node:url";
import { loadPackageDefinition, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

/** The folder of the package's `.proto` files (beside `dist/` and `src/`). */
export const PROTO_DIR = fileURLToPath(new URL("../proto/", import.meta.url));

export interface ModalServices {
  modalClient: ServiceDefinition;
  taskCommandRouter: ServiceDefinition;
}

export function loadModalServices(): ModalServices {
  const definition = loadSync(["modal/client.proto", "modal/task_command_router.proto"], {
    includeDirs: [PROTO_DIR],
    keepCase: false,
    longs: Number,
    enums: Number,
    defaults: true,
    oneofs: true,
  });
  const root = loadPackageDefinition(definition) as unknown as {
    modal: { client: { ModalClient: { service: ServiceDefinition } }; task_command_router: { TaskCommandRouter: { service: ServiceDefinition } } };
  };
  return { modalClient: root.modal.client.ModalClient.service, taskCommandRouter: root.modal.task_command_router.TaskCommandRouter.service };
}
