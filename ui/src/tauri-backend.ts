// The real Backend: Tauri commands and events. The only module that
// imports @tauri-apps.
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { Backend, SignInOptions } from './backend';
import type { CacheChanged } from './generated/CacheChanged';
import type { StatusInfo } from './generated/StatusInfo';

export class TauriBackend implements Backend {
  session = () => invoke<Awaited<ReturnType<Backend['session']>>>('session');
  signIn = (server: string, email: string, password: string, options: SignInOptions = {}) =>
    invoke<Awaited<ReturnType<Backend['signIn']>>>('sign_in', {
      server, email, password, allowHttp: options.allowHttp ?? false, caFile: options.caFile ?? null,
    });
  signOut = (removeData = false) => invoke<void>('sign_out', { removeData });
  sessions = () => invoke<Awaited<ReturnType<Backend['sessions']>>>('sessions');
  endSession = (id: string) => invoke<void>('end_session', { id });
  endOtherSessions = () => invoke<number>('end_other_sessions');
  changePassword = (currentPassword: string, newPassword: string) =>
    invoke<void>('change_password', { currentPassword, newPassword });
  status = () => invoke<Awaited<ReturnType<Backend['status']>>>('status');
  counts = () => invoke<Awaited<ReturnType<Backend['counts']>>>('counts');
  tickets = (query: Parameters<Backend['tickets']>[0]) =>
    invoke<Awaited<ReturnType<Backend['tickets']>>>('tickets', { query });
  ticket = (id: string) => invoke<Awaited<ReturnType<Backend['ticket']>>>('ticket', { id });
  conversation = (id: string) =>
    invoke<Awaited<ReturnType<Backend['conversation']>>>('conversation', { id });
  inbox = (query: Parameters<Backend['inbox']>[0]) =>
    invoke<Awaited<ReturnType<Backend['inbox']>>>('inbox', { query });
  inboxCounts = () => invoke<Awaited<ReturnType<Backend['inboxCounts']>>>('inbox_counts');
  settings = () => invoke<Awaited<ReturnType<Backend['settings']>>>('settings');
  agents = () => invoke<Awaited<ReturnType<Backend['agents']>>>('agents');
  tags = () => invoke<Awaited<ReturnType<Backend['tags']>>>('tags');
  archiveTickets = (search: string | null, cursor: string | null) => invoke<Awaited<ReturnType<Backend['archiveTickets']>>>('archive_tickets', { search, cursor });
  mergeTargets = (ticket: string, query: string) => invoke<Awaited<ReturnType<Backend['mergeTargets']>>>('merge_targets', { ticket, query });
  mergePreview = (ticket: string, into: string) => invoke<Awaited<ReturnType<Backend['mergePreview']>>>('merge_preview', { ticket, into });
  mentions = () => invoke<Awaited<ReturnType<Backend['mentions']>>>('mentions');
  macros = () => invoke<Awaited<ReturnType<Backend['macros']>>>('macros');
  macroPreview = (ticket: string, macroId: string) => invoke<Awaited<ReturnType<Backend['macroPreview']>>>('macro_preview', { ticket, macroId });
  applyMacro = (ticket: string, macroId: string) => invoke<Awaited<ReturnType<Backend['applyMacro']>>>('apply_macro', { ticket, macroId });
  saveMacro = (id: string | null, m: Parameters<Backend['saveMacro']>[1]) => invoke<Awaited<ReturnType<Backend['saveMacro']>>>('save_macro', { id, macro: m });
  deleteMacro = (id: string) => invoke<void>('delete_macro', { id });
  act = (mutation: Parameters<Backend['act']>[0]) =>
    invoke<Awaited<ReturnType<Backend['act']>>>('act', { mutation });
  check = (mutations: Parameters<Backend['check']>[0]) =>
    invoke<Awaited<ReturnType<Backend['check']>>>('check', { mutations });
  outbox = () => invoke<Awaited<ReturnType<Backend['outbox']>>>('outbox');
  problems = () => invoke<Awaited<ReturnType<Backend['problems']>>>('problems');
  retryProblem = (id: string) =>
    invoke<Awaited<ReturnType<Backend['retryProblem']>>>('retry_problem', { id });
  discardProblem = (id: string) => invoke<void>('discard_problem', { id });
  syncNow = () => invoke<void>('sync_now');
  onCacheChanged = (handler: (e: CacheChanged) => void) =>
    listen<CacheChanged>('cache-changed', (e) => handler(e.payload));
  onSyncStatus = (handler: (e: StatusInfo) => void) =>
    listen<StatusInfo>('sync-status', (e) => handler(e.payload));
  heartbeat = (beat: Parameters<Backend['heartbeat']>[0]) => invoke<void>('heartbeat', { beat });
  onPresence = (handler: Parameters<Backend['onPresence']>[0]) =>
    listen<Parameters<Parameters<Backend['onPresence']>[0]>[0]>('presence', (e) => handler(e.payload));
  onOpenTicket = (handler: (id: string) => void) =>
    listen<string>('open-ticket', (e) => handler(e.payload));
  onOpenConversation = (handler: (id: string) => void) =>
    listen<string>('open-conversation', (e) => handler(e.payload));
  retryReply = (messageId: string) => invoke<void>('retry_reply', { id: messageId });
  takeLink = () => invoke<string | null>('take_link');
  started = (origin: number, steps: [string, number][]) => invoke<void>('started', { origin, steps });
  preferences = (keys: string[]) => invoke<Record<string, string>>('preferences', { keys });
  setPreference = (key: string, value: string) => invoke<void>('set_preference', { key, value });
  adminAgents = () => invoke<Awaited<ReturnType<Backend['adminAgents']>>>('admin_agents');
  createAgent = (agent: Parameters<Backend['createAgent']>[0]) =>
    invoke<Awaited<ReturnType<Backend['createAgent']>>>('create_agent', { agent });
  updateAgent = (id: string, change: Parameters<Backend['updateAgent']>[1]) =>
    invoke<Awaited<ReturnType<Backend['updateAgent']>>>('update_agent', { id, change });
  endAgentSessions = (id: string) => invoke<void>('end_agent_sessions', { id });
  integrationTokens = () => invoke<Awaited<ReturnType<Backend['integrationTokens']>>>('integration_tokens');
  createIntegrationToken = (name: string) =>
    invoke<Awaited<ReturnType<Backend['createIntegrationToken']>>>('create_integration_token', { name });
  revokeIntegrationToken = (id: string) => invoke<void>('revoke_integration_token', { id });
  mailboxes = () => invoke<Awaited<ReturnType<Backend['mailboxes']>>>('mailboxes');
  createMailbox = (mailbox: Parameters<Backend['createMailbox']>[0]) =>
    invoke<Awaited<ReturnType<Backend['createMailbox']>>>('create_mailbox', { mailbox });
  updateMailbox = (id: string, change: Parameters<Backend['updateMailbox']>[1]) =>
    invoke<Awaited<ReturnType<Backend['updateMailbox']>>>('update_mailbox', { id, change });
  deleteMailbox = (id: string) => invoke<void>('delete_mailbox', { id });
  checkMailbox = (id: string) => invoke<Awaited<ReturnType<Backend['checkMailbox']>>>('check_mailbox', { id });
  openAttachment = (attachment: Parameters<Backend['openAttachment']>[0]) =>
    invoke<string>('open_attachment', { attachment });
  uploadAttachment = async (file: File) => {
    const bytes = new Uint8Array(await file.arrayBuffer());
    // The name as base64 of its UTF-8 (a header carries ASCII only).
    const utf8 = new TextEncoder().encode(file.name);
    let binary = '';
    utf8.forEach((b) => (binary += String.fromCharCode(b)));
    return invoke<Awaited<ReturnType<Backend['uploadAttachment']>>>('upload_attachment', bytes, {
      headers: { 'x-file-name': btoa(binary), 'x-file-type': file.type || 'application/octet-stream' },
    });
  };
  webhooks = () => invoke<Awaited<ReturnType<Backend['webhooks']>>>('webhooks');
  createWebhook = (hook: Parameters<Backend['createWebhook']>[0]) =>
    invoke<Awaited<ReturnType<Backend['createWebhook']>>>('create_webhook', { hook });
  updateWebhook = (id: string, change: Parameters<Backend['updateWebhook']>[1]) =>
    invoke<Awaited<ReturnType<Backend['updateWebhook']>>>('update_webhook', { id, change });
  deleteWebhook = (id: string) => invoke<void>('delete_webhook', { id });
  webhookDeliveries = (id: string, cursor?: string | null) =>
    invoke<Awaited<ReturnType<Backend['webhookDeliveries']>>>('webhook_deliveries', { id, cursor: cursor ?? null });
  sendDeliveryAgain = (id: string, deliveryId: string) => invoke<void>('send_delivery_again', { id, delivery: deliveryId });
  previewSettings = (settings: Parameters<Backend['previewSettings']>[0]) =>
    invoke<Awaited<ReturnType<Backend['previewSettings']>>>('preview_settings', { settings });
  saveSettings = (settings: Parameters<Backend['saveSettings']>[0]) =>
    invoke<Awaited<ReturnType<Backend['saveSettings']>>>('save_settings', { settings });
  about = () => invoke<Awaited<ReturnType<Backend['about']>>>('about');
  diagnostics = () => invoke<string>('diagnostics');
  slaReport = (query: Parameters<Backend['slaReport']>[0]) =>
    invoke<Awaited<ReturnType<Backend['slaReport']>>>('sla_report', { query });
  exportSlaReport = (query: Parameters<Backend['exportSlaReport']>[0]) =>
    invoke<string>('export_sla_report', { query });
}
