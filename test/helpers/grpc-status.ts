/**
 * google.rpc.Status, the message gRPC carries in `grpc-status-details-bin`, described here from its
 * definition (google/rpc/status.proto) so that the tests decode and encode it with nothing of the
 * simulator's own stack (protobuf-es ships the well-known types, not google.rpc).
 */
import { create, createFileRegistry } from '@bufbuild/protobuf';
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema, file_google_protobuf_any, type Any } from '@bufbuild/protobuf/wkt';

const registry = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'google/rpc/status.proto',
    package: 'google.rpc',
    dependency: ['google/protobuf/any.proto'],
    syntax: 'proto3',
    messageType: [
      {
        name: 'Status',
        field: [
          { name: 'code', jsonName: 'code', number: 1, type: FieldDescriptorProto_Type.INT32, label: FieldDescriptorProto_Label.OPTIONAL },
          { name: 'message', jsonName: 'message', number: 2, type: FieldDescriptorProto_Type.STRING, label: FieldDescriptorProto_Label.OPTIONAL },
          { name: 'details', jsonName: 'details', number: 3, type: FieldDescriptorProto_Type.MESSAGE, label: FieldDescriptorProto_Label.REPEATED, typeName: '.google.protobuf.Any' },
        ],
      },
    ],
  }),
  (file) => (file === 'google/protobuf/any.proto' ? file_google_protobuf_any : undefined),
);

export const GoogleRpcStatusSchema = registry.getMessage('google.rpc.Status')!;

/** The decoded fields of a google.rpc.Status. */
export interface GoogleRpcStatus {
  code: number;
  message: string;
  details: Any[];
}
