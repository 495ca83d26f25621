// The one door from the UI to the app: every call to Rust goes through a
// Backend. The real one (tauri-backend.ts) is the only module that imports
// @tauri-apps; tests use a mock.
import type { Acted } from './generated/Acted';
import type { Agent } from './generated/Agent';
import type { TagCount } from './generated/TagCount';
import type { Mentions } from './generated/Mentions';
import type { Macro } from './generated/Macro';
import type { NewMacro } from './generated/NewMacro';
import type { Preview } from './generated/Preview';
import type { MacroApplied } from './generated/MacroApplied';
import type { CacheChanged } from './generated/CacheChanged';
import type { ConversationDetail } from './generated/ConversationDetail';
import type { Counts } from './generated/Counts';
import type { Heartbeat } from './generated/Heartbeat';
import type { InboxCounts } from './generated/InboxCounts';
import type { InboxPage } from './generated/InboxPage';
import type { InboxQuery } from './generated/InboxQuery';
import type { IpcError } from './generated/IpcError';
import type { LiveSession } from './generated/LiveSession';
import type { Mutation } from './generated/Mutation';
import type { OutboxEntry } from './generated/OutboxEntry';
import type { Page } from './generated/Page';
import type { PresenceEntry } from './generated/PresenceEntry';
import type { Problem } from './generated/Problem';
import type { Query } from './generated/Query';
import type { Refusal } from './generated/Refusal';
import type { SessionInfo } from './generated/SessionInfo';
import type { StatusInfo } from './generated/StatusInfo';
import type { TeamSettings } from './generated/TeamSettings';
import type { TicketDetail } from './generated/TicketDetail';
import type { TicketRow } from './generated/TicketRow';
import type { MergePreview } from './generated/MergePreview';
import type { AgentChange } from './generated/AgentChange';
import type { About } from './generated/About';
import type { IntegrationToken } from './generated/IntegrationToken';
import type { NewAgent } from './generated/NewAgent';
import type { NewIntegrationToken } from './generated/NewIntegrationToken';
import type { PolicyPreview } from './generated/PolicyPreview';
import type { ReportRequest } from './generated/ReportRequest';
import type { SlaReport } from './generated/SlaReport';
import type { CreatedWebhook } from './generated/CreatedWebhook';
import type { DeliveryPage } from './generated/DeliveryPage';
import type { NewWebhook } from './generated/NewWebhook';
import type { Webhook } from './generated/Webhook';
import type { Mailbox } from './generated/Mailbox';
import type { NewMailbox } from './generated/NewMailbox';
import type { MailboxChange } from './generated/MailboxChange';
import type { MailCheck } from './generated/MailCheck';
import type { Attachment } from './generated/Attachment';
import type { WebhookChange } from './generated/WebhookChange';

/** How to reach the server: a CA certificate file to trust besides the
 * OS store, and plain HTTP to another machine (off unless asked for). */
export interface SignInOptions {
  allowHttp?: boolean;
  caFile?: string;
}

export interface Backend {
  session(): Promise<SessionInfo | null>;
  signIn(server: string, email: string, password: string, options?: SignInOptions): Promise<SessionInfo>;
  /** With `removeData`, this computer's copy of the team's tickets goes too. */
  signOut(removeData?: boolean): Promise<void>;
  /** The agent's live sessions on the server, this device marked `current`. */
  sessions(): Promise<LiveSession[]>;
  endSession(id: string): Promise<void>;
  /** "Sign out other devices": how many sessions ended. */
  endOtherSessions(): Promise<number>;
  /** Every other session of the agent ends. */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  status(): Promise<StatusInfo>;
  counts(): Promise<Counts>;
  tickets(query: Query): Promise<Page>;
  /** By id or `#number`. */
  ticket(id: string): Promise<TicketDetail>;
  conversation(id: string): Promise<ConversationDetail>;
  /** A page of an inbox view (Unassigned, Mine, All conversations). */
  inbox(query: InboxQuery): Promise<InboxPage>;
  inboxCounts(): Promise<InboxCounts>;
  /** The team's settings: the categories the pickers offer, the SLA policy. */
  settings(): Promise<TeamSettings>;
  agents(): Promise<Agent[]>;
  /** The signed-in agent's mentions, unread first, with the unread count. */
  mentions(): Promise<Mentions>;
  /** The macros the agent may use (the team's and their own), as last synced. */
  macros(): Promise<Macro[]>;
  /** What a macro would do on a ticket (id or #number) now. */
  macroPreview(ticket: string, macroId: string): Promise<Preview>;
  /** Applies a macro: each step an ordinary change, queued; refused ones named. */
  applyMacro(ticket: string, macroId: string): Promise<MacroApplied>;
  /** Keeps a macro on the server (new when `id` is null); needs the connection. */
  saveMacro(id: string | null, m: NewMacro): Promise<Macro>;
  deleteMacro(id: string): Promise<void>;
  /** The team's tags on tickets not closed, most used first. */
  tags(): Promise<TagCount[]>;
  /** Tickets a ticket could be merged into: the same customer's first, narrowed by `#number` or words. */
  mergeTargets(ticket: string, query: string): Promise<TicketRow[]>;
  /** A page of the server's archive: tickets closed before this computer's working set that `search` finds. */
  archiveTickets(search: string | null, cursor: string | null): Promise<Page>;
  /** What merging `ticket` into `into` would do now: the rules' answer and what moves. */
  mergePreview(ticket: string, into: string): Promise<MergePreview>;
  act(mutation: Mutation): Promise<Acted>;
  /** For each mutation: null if the rules allow it now, else why not. */
  check(mutations: Mutation[]): Promise<(Refusal | null)[]>;
  outbox(): Promise<OutboxEntry[]>;
  problems(): Promise<Problem[]>;
  retryProblem(id: string): Promise<Acted>;
  discardProblem(id: string): Promise<void>;
  syncNow(): Promise<void>;
  onCacheChanged(handler: (event: CacheChanged) => void): Promise<() => void>;
  onSyncStatus(handler: (event: StatusInfo) => void): Promise<() => void>;
  /** Where this agent is (best effort: offline it is dropped, never an error). */
  heartbeat(beat: Heartbeat): Promise<void>;
  /** The team's presence, each time it changes (empty while offline). */
  onPresence(handler: (list: PresenceEntry[]) => void): Promise<() => void>;
  /** A notification or the tray asks to show a ticket. */
  onOpenTicket(handler: (id: string) => void): Promise<() => void>;
  /** A notification about a reply was clicked: show its conversation. */
  onOpenConversation(handler: (id: string) => void): Promise<() => void>;
  /** Queues a failed reply's delivery again (any agent; needs the server), then syncs. */
  retryReply(messageId: string): Promise<void>;
  /** The ticket (`#1042` or an id) a `fyncall://ticket/…` link started the app with, once. */
  takeLink(): Promise<string | null>;
  /** The first view is on screen: the app logs how long its start took (once),
   * with the page's steps (`origin`: when the page began, ms since 1970;
   * each step in ms after it). */
  started(origin: number, steps: [string, number][]): Promise<void>;
  preferences(keys: string[]): Promise<Record<string, string>>;
  setPreference(key: string, value: string): Promise<void>;

  // The admin console: each call needs the server.
  /** Every agent of the team, deactivated ones too, as the server has them now. */
  adminAgents(): Promise<Agent[]>;
  createAgent(agent: NewAgent): Promise<Agent>;
  updateAgent(id: string, change: AgentChange): Promise<Agent>;
  endAgentSessions(id: string): Promise<void>;
  integrationTokens(): Promise<IntegrationToken[]>;
  /** The new token's secret is in the answer, this once. */
  createIntegrationToken(name: string): Promise<NewIntegrationToken>;
  revokeIntegrationToken(id: string): Promise<void>;
  /** The team's mailboxes (email channel), without their passwords. */
  mailboxes(): Promise<Mailbox[]>;
  createMailbox(mailbox: NewMailbox): Promise<Mailbox>;
  /** Passwords change only when given. */
  updateMailbox(id: string, change: MailboxChange): Promise<Mailbox>;
  deleteMailbox(id: string): Promise<void>;
  /** Signs in to the mailbox's IMAP and SMTP servers; what failed, in words. */
  checkMailbox(id: string): Promise<MailCheck>;
  /** Opens a message's file with the computer's own viewer (fetched first when not kept yet); its path. */
  openAttachment(attachment: Attachment): Promise<string>;
  /** Uploads a file for a reply (needs the server); what the reply names. */
  uploadAttachment(file: File): Promise<Attachment>;
  webhooks(): Promise<Webhook[]>;
  /** The new webhook's secret is in the answer, this once. */
  createWebhook(hook: NewWebhook): Promise<CreatedWebhook>;
  updateWebhook(id: string, change: WebhookChange): Promise<Webhook>;
  deleteWebhook(id: string): Promise<void>;
  /** A page of the webhook's delivery log, newest first, each with its attempts. */
  webhookDeliveries(id: string, cursor?: string | null): Promise<DeliveryPage>;
  /** Sends a failed delivery again, under its own webhook-id. */
  sendDeliveryAgain(id: string, deliveryId: string): Promise<void>;
  /** What the settings would do to the running tickets (checked as the server checks). */
  previewSettings(settings: TeamSettings): Promise<PolicyPreview>;
  saveSettings(settings: TeamSettings): Promise<TeamSettings>;

  /** The app's and the server's versions, and where the logs are. */
  about(): Promise<About>;
  /** "Copy diagnostic info": versions, OS, server, sync state, last errors; never a token or a password. */
  diagnostics(): Promise<string>;

  // Reports, from this computer's copy (they work offline).
  slaReport(query: ReportRequest): Promise<SlaReport>;
  /** Saves the report as CSV in the Downloads folder; the file's path. */
  exportSlaReport(query: ReportRequest): Promise<string>;
}

/** Errors from the backend carry a code from a closed set. */
export function isIpcError(e: unknown): e is IpcError {
  return typeof e === 'object' && e !== null && 'code' in e && 'message' in e;
}

export function errorText(e: unknown): string {
  if (isIpcError(e)) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/** What a refusal says about each field ("name" → "the name cannot be empty"). */
export function fieldErrors(e: unknown): Record<string, string> {
  return isIpcError(e) && e.refusal ? { ...e.refusal.fields } : {};
}

export function newId(): string {
  return crypto.randomUUID();
}

/** Shows the window in `theme` (light, dark, or as the system). */
export function applyTheme(theme: string | undefined): void {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

/** Draws lists comfortable (the default) or compact (less room around each row). */
export function applyDensity(density: string | undefined): void {
  if (density === 'compact') document.documentElement.dataset.density = 'compact';
  else delete document.documentElement.dataset.density;
}
