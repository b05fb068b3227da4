import { readFile } from "node:fs/promises";
import { Metadata, type CallOptions } from "@grpc/grpc-js";
import { collect, servedByOf, unary } from "../client/calls.js";
import type {
  CreateUserResponse,
  DeleteUserResponse,
  GetUserResponse,
  ImportUsersRequest,
  ImportUsersResponse,
  LookupUsersResponse,
  UpdateUserResponse,
  UserServiceClient,
} from "../gen/userservice/v1/user_service.js";
import { parseImportRows } from "./import-rows.js";
import { by, describeUser, userJson, type Output } from "./output.js";

export interface CommandContext {
  client: UserServiceClient;
  out: Output;
  /** Per-call deadline in ms (not applied to subscribe). */
  deadlineMs: number;
}

const options = (ctx: CommandContext): CallOptions => ({ deadline: new Date(Date.now() + ctx.deadlineMs) });
/** Remembers the `x-served-by` response header of a streaming call once it arrives. */
function servedByHeader(call: { once(event: "metadata", listener: (metadata: Metadata) => void): unknown }): () => string | undefined {
  let servedBy: string | undefined;
  call.once("metadata", (metadata) => (servedBy = servedByOf(metadata)));
  return () => servedBy;
}

export async function getUser(ctx: CommandContext, id: number): Promise<void> {
  const { response, servedBy } = await unary<GetUserResponse>((cb) => ctx.client.getUser({ id }, new Metadata(), options(ctx), cb));
  ctx.out.emit(`${describeUser(response.user)}${by(servedBy)}`, { user: userJson(response.user), servedBy });
}

export async function createUser(ctx: CommandContext, name: string, email: string): Promise<number> {
  const { response, servedBy } = await unary<CreateUserResponse>((cb) =>
    ctx.client.createUser({ name, email }, new Metadata(), options(ctx), cb),
  );
  ctx.out.emit(`created ${describeUser(response.user)}${by(servedBy)}`, { created: userJson(response.user), servedBy });
  return response.user?.id ?? 0;
}

export async function updateUser(ctx: CommandContext, id: number, fields: { name?: string; email?: string }) {
  const { response, servedBy } = await unary<UpdateUserResponse>((cb) =>
    ctx.client.updateUser({ id, ...fields }, new Metadata(), options(ctx), cb),
  );
  ctx.out.emit(`updated ${describeUser(response.user)}${by(servedBy)}`, { updated: userJson(response.user), servedBy });
}

export async function deleteUser(ctx: CommandContext, id: number): Promise<void> {
  const { response, servedBy } = await unary<DeleteUserResponse>((cb) => ctx.client.deleteUser({ id }, new Metadata(), options(ctx), cb));
  ctx.out.emit(`deleted ${describeUser(response.user)}${by(servedBy)}`, { deleted: userJson(response.user), servedBy });
}

export async function listUsers(
  ctx: CommandContext,
  request: { pageSize: number; pageToken: string; nameFilter: string },
): Promise<void> {
  const stream = ctx.client.listUsers(request, options(ctx));
  const servedByOfStream = servedByHeader(stream);
  const items = await collect(stream);
  const servedBy = servedByOfStream();
  for (const item of items) ctx.out.emit(`- ${describeUser(item.user)}`, { user: userJson(item.user), cursor: item.cursor });
  const last = items.at(-1);
  const summary = `${items.length} user(s)${by(servedBy)}${last?.cursor ? `  snapshot cursor ${last.cursor}` : ""}`;
  ctx.out.emit(summary, { count: items.length, cursor: last?.cursor ?? null, nextPageToken: last?.nextPageToken || null, servedBy });
  if (last?.nextPageToken) ctx.out.note(`more: --page-token ${last.nextPageToken}`);
}

export async function importUsers(ctx: CommandContext, source: string, readStdin: () => Promise<string>): Promise<ImportUsersResponse> {
  const text = source === "-" ? await readStdin() : await readFile(source, "utf8");
  return importRows(ctx, parseImportRows(text));
}

/** Streams `rows` to ImportUsers and prints the summary, then each failed row numbered from 1 (the server's index + 1). */
export async function importRows(ctx: CommandContext, rows: ImportUsersRequest[]): Promise<ImportUsersResponse> {
  let servedBy: () => string | undefined = () => undefined;
  const response = await new Promise<ImportUsersResponse>((resolve, reject) => {
    const call = ctx.client.importUsers(options(ctx), (error, result) => (error ? reject(error) : resolve(result)));
    servedBy = servedByHeader(call);
    for (const row of rows) call.write(row);
    call.end();
  });
  ctx.out.emit(
    `imported: ${response.createdCount} created, ${response.failedCount} failed of ${response.receivedCount} sent${by(servedBy())}`,
    { ...response, servedBy: servedBy() },
  );
  if (!ctx.out.json) for (const e of response.errors) ctx.out.emit(`  row ${e.index + 1}: ${e.code}: ${e.message}`, e);
  return response;
}

export async function lookupUsers(ctx: CommandContext, ids: number[]): Promise<LookupUsersResponse[]> {
  const call = ctx.client.lookupUsers(options(ctx));
  const servedBy = servedByHeader(call);
  const answers: LookupUsersResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on("data", (answer: LookupUsersResponse) => {
      answers.push(answer);
      const human = answer.user ? describeUser(answer.user) : `#${answer.id}: ${answer.error?.code}: ${answer.error?.message}`;
      ctx.out.emit(`<- ${human}`, { id: answer.id, user: userJson(answer.user), error: answer.error ?? null, servedBy: servedBy() });
    });
    call.on("error", reject);
    call.on("end", resolve);
  });
  for (const id of ids) call.write({ id });
  call.end();
  await done;
  if (!ctx.out.json) ctx.out.emit(`${answers.length} answer(s)${by(servedBy())}`, null);
  return answers;
}
