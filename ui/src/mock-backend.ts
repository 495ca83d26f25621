// An in-memory Backend for component tests.
import { PRIORITY_ORDER, STATUS_ORDER, STATUS_WORDS } from './generated/words';
import type { Backend, SignInOptions } from './backend';
import { Desk, deskContext } from './lib/desk.svelte';
import type { LiveSession } from './generated/LiveSession';
import type { Action } from './generated/Action';
import type { Agent } from './generated/Agent';
import type { ConversationDetail } from './generated/ConversationDetail';
import type { Heartbeat } from './generated/Heartbeat';
import type { InboxQuery } from './generated/InboxQuery';
import type { PresenceEntry } from './generated/PresenceEntry';
import type { InboxRow } from './generated/InboxRow';
import type { TeamSettings } from './generated/TeamSettings';
import type { AgentChange } from './generated/AgentChange';
import type { IntegrationToken } from './generated/IntegrationToken';
import type { Webhook } from './generated/Webhook';
import type { Mailbox } from './generated/Mailbox';
import type { NewMailbox } from './generated/NewMailbox';
import type { MailboxChange } from './generated/MailboxChange';
import type { Attachment } from './generated/Attachment';
import type { WebhookDelivery } from './generated/WebhookDelivery';
import type { NewWebhook } from './generated/NewWebhook';
import type { WebhookChange } from './generated/WebhookChange';
import type { NewAgent } from './generated/NewAgent';
import type { ReportRequest } from './generated/ReportRequest';
import type { SlaReport } from './generated/SlaReport';
import type { Mutation } from './generated/Mutation';
import type { Refusal } from './generated/Refusal';
import type { TicketDetail } from './generated/TicketDetail';
import type { Query } from './generated/Query';
import type { SessionInfo } from './generated/SessionInfo';
import type { StatusInfo } from './generated/StatusInfo';
import type { CacheChanged } from './generated/CacheChanged';
import type { TicketRow } from './generated/TicketRow';
import type { MentionRow } from './generated/MentionRow';
import type { Macro } from './generated/Macro';
import type { MergePreview } from './generated/MergePreview';
import type { NewMacro } from './generated/NewMacro';
import type { Preview } from './generated/Preview';

export const alice: Agent = { id: 'a1', name: 'Alice Moreau', email: 'alice@example.com', role: 'agent', active: true };

export function row(n: number, subject: string, extra: Partial<TicketRow> = {}): TicketRow {
  const timer = { state: 'on_track' as const, target_minutes: 60, due_at: new Date(Date.now() + 30 * 60_000).toISOString(), at_risk_at: new Date(Date.now() + 15 * 60_000).toISOString(), remaining_seconds: 1800, stopped_at: null,
    hours: 'always' as const, open_until: null, closed_until: null, left_at_close_seconds: null };
  return {
    id: `t${n}`, number: n, conversation_id: 'c1', subject, description: null, priority: 'high', status: 'open',
    category: 'billing', assignee_id: 'a1', source: 'manual', created_by: 'a1',
    created_at: new Date().toISOString(), updated_at: new Date().toISOString(),
    first_response_at: null, resolved_at: null, closed_at: null, ai_context: null, tags: [], merged_into_id: null, version: 1,
    field_versions: { subject: 1, description: 1, category: 1 },
    sla_clock: { first_response_stopped_at: null, first_response_target_minutes: null, resolution_excluded_ms: 0,
      resolution_halted_at: null, resolution_target_minutes: null, first_response_breach_recorded: false, resolution_breach_recorded: false },
    sla: { indicator: 'on_track', first_response: timer, resolution: { ...timer, target_minutes: 480 } },
    pending: false,
    ...extra,
  };
}

export function inboxRow(n: number, name: string, extra: Partial<InboxRow> = {}): InboxRow {
  const at = new Date(Date.now() - n * 60_000).toISOString();
  return {
    id: `c${n}`, customer: { name, email: `${name.split(' ')[0].toLowerCase()}@example.com` }, channel: 'chat',
    assignee_id: null, last_message_at: at, waiting_since: at,
    last_message: { author: 'customer', body: `Message from ${name}` }, open_ticket_count: 0, pending: false,
    ...extra,
  };
}


/** The candidate actions the cache lists for a ticket (the mock's own short list). */
function ticketCandidates(t: TicketRow, me: Agent): [string, string, Mutation][] {
  const out: [string, string, Mutation][] = [];
  for (const s of STATUS_ORDER) {
    if (s === t.status) continue;
    const label = s === 'resolved' ? 'Resolve' : s === 'closed' ? 'Close'
      : t.status === 'resolved' && s === 'in_progress' ? 'Reopen' : `Set status: ${STATUS_WORDS[s]}`;
    out.push([`status:${s}`, label, { name: 'change_status', args: { ticket_id: t.id, status: s } }]);
  }
  for (const p of PRIORITY_ORDER) {
    if (p !== t.priority) out.push([`priority:${p}`, `Set priority: ${p}`, { name: 'change_priority', args: { ticket_id: t.id, priority: p } }]);
  }
  if (t.assignee_id !== me.id) out.push([`assign:${me.id}`, 'Assign to me', { name: 'assign', args: { ticket_id: t.id, assignee_id: me.id } }]);
  out.push(['edit', 'Edit subject, description or category', { name: 'edit_ticket', args: { ticket_id: t.id, subject: t.subject } }]);
  out.push(['tags', 'Add or remove tags', { name: 'set_tags', args: { ticket_id: t.id, add: ['tag'], remove: [] } }]);
  if (t.merged_into_id) out.push(['unmerge', 'Unmerge', { name: 'unmerge_ticket', args: { ticket_id: t.id } }]);
  else out.push(['merge', 'Merge into…', { name: 'merge_ticket', args: { ticket_id: t.id, into_ticket_id: '00000000-0000-0000-0000-000000000000' } }]);
  return out;
}

export class MockBackend implements Backend {
  /** The inbox, in view order; each view filters it as the rules say. */
  inboxRows: InboxRow[] = [];
  inboxQueries: InboxQuery[] = [];
  /** Pages as the cache reads them; their `actions` are made from `refuse`. */
  conversations = new Map<string, Omit<ConversationDetail, 'actions'>>();
  tickets_ = new Map<string, Omit<TicketDetail, 'actions' | 'unread_mentions' | 'merged'> & { unread_mentions?: string[]; merged?: TicketDetail['merged'] }>();
  /** The team, for the actions a page lists. */
  team: Agent[] = [alice];
  acted: Mutation[] = [];
  /** What `check` answers for a mutation (allowed by default). */
  refuse: (m: Mutation) => Refusal | null = () => null;
  signedIn: SessionInfo | null;
  rows: TicketRow[];
  queries: Query[] = [];
  signIns: [string, string, string][] = [];
  /** The app's `sync-status` listener, for a test to send statuses through. */
  statusHandler: ((status: StatusInfo) => void) | null = null;

  constructor(session: SessionInfo | null, rows: TicketRow[] = []) {
    this.signedIn = session;
    this.rows = rows;
  }

  session = async () => this.signedIn;
  signInOptions: SignInOptions[] = [];
  signOuts: boolean[] = [];
  liveSessions: LiveSession[] = [
    { id: 's1', created_at: '2026-11-30T09:00:00.000Z', last_used_at: '2026-12-01T09:00:00.000Z', expires_at: '2026-12-31T09:00:00.000Z', user_agent: 'fyncall/0.1.0', current: true },
    { id: 's2', created_at: '2026-11-01T09:00:00.000Z', last_used_at: '2026-11-20T09:00:00.000Z', expires_at: '2026-12-20T09:00:00.000Z', user_agent: 'fyncall/0.1.0 (laptop)', current: false },
  ];
  passwordChanges: [string, string][] = [];
  signIn = async (server: string, email: string, password: string, options: SignInOptions = {}) => {
    this.signIns.push([server, email, password]);
    this.signInOptions.push(options);
    if (password !== 'right') throw { code: 'unauthorized', message: 'wrong email or password' };
    this.signedIn = { server, agent: alice, demo: false, token_in_keyring: false };
    return this.signedIn;
  };
  signOut = async (removeData = false) => { this.signOuts.push(removeData); this.signedIn = null; };
  sessions = async () => this.liveSessions;
  endSession = async (id: string) => { this.liveSessions = this.liveSessions.filter((s) => s.id !== id); };
  endOtherSessions = async () => {
    const before = this.liveSessions.length;
    this.liveSessions = this.liveSessions.filter((s) => s.current);
    return before - this.liveSessions.length;
  };
  changePassword = async (current: string, next: string) => {
    if (current !== 'right') throw { code: 'refused', message: 'the current password is not right' };
    this.passwordChanges.push([current, next]);
    this.liveSessions = this.liveSessions.filter((s) => s.current);
  };
  status = async () => ({ connection: 'online' as const, error: null, last_sync_at: null, pending: 2, problems: 1, clock_offset_ms: 0, notice: null, download: null });
  counts = async () => ({ all: 7, mine: 3, sla_at_risk: 1, pending: 0, ai_escalated: 2 });
  tickets = async (q: Query) => {
    this.queries.push(q);
    // Keyset paging as the cache does it, the cursor being the next row's index.
    const start = q.cursor ? Number(q.cursor) : 0;
    const tickets = this.rows.slice(start, start + q.limit);
    const end = start + tickets.length;
    return {
      tickets,
      next_cursor: end < this.rows.length ? String(end) : null,
      total: q.with_total ? this.rows.length : null,
    };
  };
  #actions(candidates: [string, string, Mutation][]): Action[] {
    return candidates.map(([key, label, mutation]) => ({ key, label, mutation, refusal: this.refuse(mutation) }));
  }
  ticket = async (id: string): Promise<TicketDetail> => {
    const byNumber = [...this.tickets_.values()].find((d) => `#${d.ticket.number}` === id);
    const d = this.tickets_.get(id) ?? byNumber;
    if (!d) throw { code: 'not_found', message: `no ticket ${id} in the cache` };
    return { ...d, unread_mentions: d.unread_mentions ?? [], merged: d.merged ?? [], actions: this.#actions(ticketCandidates(d.ticket, alice)) };
  };
  /** The server's archive (a test fills it; `null`: offline). */
  archive: TicketRow[] | null = [];
  archiveSearches: (string | null)[] = [];
  archiveTickets = async (search: string | null) => {
    this.archiveSearches.push(search);
    if (this.archive === null) {
      throw { code: 'unreachable', message: 'Older closed tickets need a connection: this one closed before the last 90 days the desk keeps offline' };
    }
    const q = (search ?? '').toLowerCase();
    const tickets = this.archive.filter((r) => !q || r.subject.toLowerCase().includes(q));
    return { tickets: structuredClone(tickets), next_cursor: null, total: tickets.length };
  };
  /** Merge targets: every other ticket not closed in `rows`, narrowed by number or words. */
  mergeTargets = async (ticket: string, query: string) => {
    const q = query.trim().toLowerCase().replace(/^#/, '');
    return this.rows.filter((r) => r.id !== ticket && r.status !== 'closed'
      && (!q || String(r.number) === q || r.subject.toLowerCase().includes(q)));
  };
  /** What a merge preview answers (a test sets it). */
  mergeAnswer: MergePreview = { refusal: null, moves: ['#1 closes as "merged into #2" and takes no further change'] };
  mergePreview = async () => structuredClone(this.mergeAnswer);
  conversation = async (id: string): Promise<ConversationDetail> => {
    const d = this.conversations.get(id);
    if (!d) throw { code: 'not_found', message: 'no such conversation' };
    const candidates: [string, string, Mutation][] = [['claim', 'Claim conversation', { name: 'claim_conversation', args: { conversation_id: id } }]];
    for (const a of this.team.filter((a) => a.active && a.id !== d.assignee_id)) {
      candidates.push([`assign_conversation:${a.id}`, `Assign conversation to ${a.name}`, { name: 'assign_conversation', args: { conversation_id: id, agent_id: a.id } }]);
    }
    return { ...d, actions: this.#actions(candidates) };
  };
  inbox = async (q: InboxQuery) => {
    this.inboxQueries.push(q);
    const words = (q.search ?? '').trim().toLowerCase();
    const all = this.inboxRows.filter((r) =>
      (q.view === 'all' || (q.view === 'mine' ? r.assignee_id === alice.id : r.assignee_id === null))
      && (!words || `${r.customer.name} ${r.customer.email} ${r.last_message?.body ?? ''}`.toLowerCase().includes(words)));
    const start = q.cursor ? Number(q.cursor) : 0;
    const conversations = all.slice(start, start + q.limit);
    const end = start + conversations.length;
    return { conversations, next_cursor: end < all.length ? String(end) : null, total: all.length };
  };
  inboxCounts = async () => ({
    unassigned: this.inboxRows.filter((r) => r.assignee_id === null).length,
    mine: this.inboxRows.filter((r) => r.assignee_id === alice.id).length,
    all: this.inboxRows.length,
  });
  teamSettings: TeamSettings = {
    categories: ['billing', 'shipping', 'technical'],
    sla_policy: {
      urgent: { first_response_minutes: 15, resolution_minutes: 240, hours: 'always' },
      high: { first_response_minutes: 60, resolution_minutes: 480, hours: 'always' },
      normal: { first_response_minutes: 240, resolution_minutes: 1440, hours: 'always' },
      low: { first_response_minutes: 480, resolution_minutes: 2880, hours: 'always' },
    },
    at_risk_fraction: 0.25,
    retired_categories: [],
    calendar: null,
    auto_close_after_days: 4,
    sync_window_days: 90,
  };
  settings = async () => structuredClone(this.teamSettings);
  agents = async () => [alice];
  /** The agent's macros, and what previews and applies answer (a test sets them). */
  macroList: Macro[] = [];
  preview: Preview = { text: null, actions: [] };
  applied: [string, string][] = [];
  macros = async () => [...this.macroList];
  macroPreview = async () => structuredClone(this.preview);
  applyMacro = async (ticket: string, macroId: string) => {
    this.applied.push([ticket, macroId]);
    return { applied: this.preview.actions.filter((a) => a.allowed).map((a) => a.kind),
      refused: this.preview.actions.filter((a) => !a.allowed).map((a) => ({ kind: a.kind, refusal: a.refusal ?? { code: 'forbidden' as const, message: '' } })) };
  };
  saveMacro = async (id: string | null, m: NewMacro) => {
    this.#needServer();
    const kept: Macro = { id: id ?? `m${this.macroList.length + 1}`, owner_id: m.scope === 'personal' ? alice.id : null, ...m,
      text: m.text ?? null, text_kind: m.text_kind ?? 'comment', actions: m.actions ?? [] };
    this.macroList = [...this.macroList.filter((x) => x.id !== kept.id), kept];
    return kept;
  };
  deleteMacro = async (id: string) => {
    this.#needServer();
    this.macroList = this.macroList.filter((x) => x.id !== id);
  };
  /** The agent's mentions, as a test sets them. */
  mentionRows: MentionRow[] = [];
  mentions = async () => ({ unread: this.mentionRows.filter((m) => !m.read).length, items: [...this.mentionRows] });
  /** The team's tags, counted over the tickets `rows` holds. */
  tags = async () => {
    const counts = new Map<string, number>();
    for (const r of this.rows) for (const t of r.tags) counts.set(t, (counts.get(t) ?? 0) + 1);
    return [...counts].map(([tag, count]) => ({ tag, count }))
      .sort((a, b) => b.count - a.count || a.tag.localeCompare(b.tag));
  };
  act = async (m?: Mutation) => {
    if (m) this.acted.push(m);
    return { mutation_id: m ? 'm1' : null, changes: { tickets: [], conversations: [], activity: [], team: false, queue: false, bulk: false, mentions: false } };
  };
  check = async (ms: Mutation[]) => ms.map((m) => this.refuse(m));
  outbox = async () => [];
  problems = async () => [];
  retryProblem = async () => this.act();
  discardProblem = async () => {};
  syncNow = async () => {};
  changeHandler: ((event: CacheChanged) => void) | null = null;
  onCacheChanged = async (handler: (event: CacheChanged) => void) => {
    this.changeHandler = handler;
    return () => {};
  };
  onSyncStatus = async (handler: (status: StatusInfo) => void) => {
    this.statusHandler = handler;
    return () => {};
  };
  beats: Heartbeat[] = [];
  heartbeat = async (beat: Heartbeat) => { this.beats.push(beat); };
  presenceHandler: ((list: PresenceEntry[]) => void) | null = null;
  onPresence = async (handler: (list: PresenceEntry[]) => void) => {
    this.presenceHandler = handler;
    return () => {};
  };
  onOpenTicket = async () => () => {};
  onOpenConversation = async () => () => {};
  retried: string[] = [];
  retryReply = async (messageId: string) => {
    this.#needServer();
    for (const d of this.conversations.values()) {
      const m = d.messages.find((x) => x.id === messageId);
      if (!m?.delivery) continue;
      if (m.delivery.state !== 'failed') throw { code: 'refused', message: `only a failed delivery can be sent again; this one is ${m.delivery.state}` };
      m.delivery = { state: 'queued', attempts: m.delivery.attempts };
      this.retried.push(messageId);
      return;
    }
    throw { code: 'not_found', message: `no reply has id ${messageId}` };
  };
  link: string | null = null;
  takeLink = async () => { const l = this.link; this.link = null; return l; };
  starts: [string, number][][] = [];
  started = async (_origin: number, steps: [string, number][]) => { this.starts.push(steps); };
  prefs: Record<string, string> = {};
  preferences = async (keys: string[]) => Object.fromEntries(keys.filter((k) => k in this.prefs).map((k) => [k, this.prefs[k]]));
  setPreference = async (key: string, value: string) => { this.prefs[key] = value; };

  // The admin console and reports, against this in-memory team.
  online = true;
  #needServer() {
    if (!this.online) throw { code: 'unreachable', message: 'cannot reach http://x: connection refused' };
  }
  staff: Agent[] = [{ ...alice, role: 'admin' }, { id: 'b1', name: 'Ben Okoro', email: 'ben@example.com', role: 'agent', active: true }];
  adminAgents = async () => { this.#needServer(); return structuredClone(this.staff); };
  createAgent = async (a: NewAgent) => {
    this.#needServer();
    if (this.staff.some((x) => x.email === a.email)) {
      throw { code: 'refused', message: 'an agent with that email exists', refusal: { code: 'invalid', message: 'an agent with that email exists', fields: { email: 'an agent with that email exists' } } };
    }
    const made: Agent = { id: `n${this.staff.length}`, name: a.name.trim(), email: a.email, role: a.role, active: true };
    this.staff.push(made);
    return made;
  };
  updateAgent = async (id: string, change: AgentChange) => {
    this.#needServer();
    const a = this.staff.find((x) => x.id === id);
    if (!a) throw { code: 'not_found', message: 'no such agent' };
    Object.assign(a, change);
    return structuredClone(a);
  };
  endedSessions: string[] = [];
  endAgentSessions = async (id: string) => { this.#needServer(); this.endedSessions.push(id); };
  tokens: IntegrationToken[] = [{ id: 'k1', name: 'chat platform', created_at: '2026-11-02T09:00:00.000Z', last_used_at: '2026-11-30T10:00:00.000Z' }];
  integrationTokens = async () => { this.#needServer(); return structuredClone(this.tokens); };
  createIntegrationToken = async (name: string) => {
    this.#needServer();
    this.tokens.push({ id: `k${this.tokens.length + 1}`, name, created_at: '2026-12-01T09:00:00.000Z', last_used_at: '2026-12-01T09:00:00.000Z' });
    return { id: `k${this.tokens.length}`, token: 'fyk_secret_shown_once' };
  };
  revokeIntegrationToken = async (id: string) => { this.#needServer(); this.tokens = this.tokens.filter((t) => t.id !== id); };
  hooks: Webhook[] = [{ id: 'w1', url: 'https://chat.example.com/hooks/fyncall', events: ['message.created'], description: 'chat platform', state: 'active', created_at: '2026-11-02T09:00:00.000Z' }];
  deliveries: Record<string, WebhookDelivery[]> = {
    w1: [
      { id: 'msg_2', event: 'message.created', state: 'failed', reason: 'the receiver answered 410 Gone', created_at: '2026-12-01T10:00:00.000Z',
        attempts: [{ at: '2026-12-01T10:00:00.100Z', status: 410, error: 'the receiver answered 410 Gone', answer: 'gone', duration_ms: 12 }] },
      { id: 'msg_1', event: 'message.created', state: 'sent', created_at: '2026-12-01T09:00:00.000Z',
        attempts: [{ at: '2026-12-01T09:00:00.050Z', status: 500, error: 'the receiver answered 500 Internal Server Error', duration_ms: 8 },
          { at: '2026-12-01T09:00:05.050Z', status: 200, answer: 'ok', duration_ms: 6 }] },
    ],
  };
  boxes: Mailbox[] = [{ id: 'mb1', address: 'support@example.com', display_name: 'Example Support',
    imap: { host: 'imap.example.com', port: 993, security: 'tls', username: 'support@example.com', folder: 'INBOX' },
    smtp: { host: 'smtp.example.com', port: 465, security: 'tls', username: 'support@example.com' },
    state: 'idle', last_checked_at: '2026-12-01T09:00:00.000Z' }];
  mailboxes = async () => { this.#needServer(); return structuredClone(this.boxes); };
  createMailbox = async (m: NewMailbox) => {
    this.#needServer();
    if (m.imap.security === 'none' && !/^(127\.|localhost$)/.test(m.imap.host)) {
      const why = `imap to ${m.imap.host} without TLS would send the password in the clear: use tls or starttls`;
      throw { code: 'refused', message: why, refusal: { code: 'invalid', message: why, fields: { 'imap.security': why } } };
    }
    const strip = ({ password: _p, ...rest }: NewMailbox['imap']) => rest;
    const made: Mailbox = { id: `mb${this.boxes.length + 1}`, address: m.address, display_name: m.display_name,
      imap: strip(m.imap), smtp: strip(m.smtp), state: 'polling' };
    this.boxes.push(made);
    return structuredClone(made);
  };
  updateMailbox = async (id: string, change: MailboxChange) => {
    this.#needServer();
    const b = this.boxes.find((x) => x.id === id);
    if (!b) throw { code: 'not_found', message: `no mailbox has id ${id}` };
    if (change.display_name !== undefined) b.display_name = change.display_name;
    if (change.address !== undefined) b.address = change.address;
    return structuredClone(b);
  };
  deleteMailbox = async (id: string) => { this.#needServer(); this.boxes = this.boxes.filter((b) => b.id !== id); };
  checkMailbox = async (id: string) => {
    this.#needServer();
    const b = this.boxes.find((x) => x.id === id);
    return b?.state === 'failing'
      ? { imap: { ok: false, error: `IMAP: authentication failed for ${b.imap.username}` }, smtp: { ok: true } }
      : { imap: { ok: true }, smtp: { ok: true } };
  };
  opened: string[] = [];
  openAttachment = async (a: Attachment) => { this.#needServer(); this.opened.push(a.id); return `/home/alice/.local/share/app.fyncall.desk/attachments/${a.id}/${a.name}`; };
  uploaded: string[] = [];
  uploadAttachment = async (file: File) => {
    this.#needServer();
    this.uploaded.push(file.name);
    return { id: `att${this.uploaded.length}`, name: file.name, content_type: file.type || 'application/octet-stream', size: file.size };
  };
  webhooks = async () => { this.#needServer(); return structuredClone(this.hooks); };
  createWebhook = async (hook: NewWebhook) => {
    this.#needServer();
    if (!/^https:\/\//.test(hook.url)) {
      const why = 'use an https:// URL (http:// is allowed only to this computer)';
      throw { code: 'refused', message: why, refusal: { code: 'invalid', message: why, fields: { url: why } } };
    }
    const made: Webhook = { id: `w${this.hooks.length + 1}`, url: hook.url, events: hook.events as Webhook['events'], description: hook.description, state: 'active', created_at: '2026-12-01T09:00:00.000Z' };
    this.hooks.push(made);
    return { ...structuredClone(made), secret: 'whsec_c2VjcmV0IHNob3duIG9uY2U=' };
  };
  updateWebhook = async (id: string, change: WebhookChange) => {
    this.#needServer();
    const h = this.hooks.find((x) => x.id === id);
    if (!h) throw { code: 'not_found', message: `no webhook has id ${id}` };
    if (change.url !== undefined) h.url = change.url;
    if (change.events !== undefined) h.events = change.events as Webhook['events'];
    if (change.description !== undefined) h.description = change.description;
    if (change.paused === true) { h.state = 'paused'; h.paused_reason = 'paused by Alice Moreau'; }
    if (change.paused === false) { h.state = 'active'; delete h.paused_reason; }
    return structuredClone(h);
  };
  deleteWebhook = async (id: string) => { this.#needServer(); this.hooks = this.hooks.filter((h) => h.id !== id); };
  webhookDeliveries = async (id: string) => { this.#needServer(); return { deliveries: structuredClone(this.deliveries[id] ?? []), next_cursor: null }; };
  sentAgain: string[] = [];
  sendDeliveryAgain = async (id: string, deliveryId: string) => {
    this.#needServer();
    const d = (this.deliveries[id] ?? []).find((x) => x.id === deliveryId);
    if (!d || d.state !== 'failed') throw { code: 'refused', message: 'only a failed delivery can be sent again' };
    d.state = 'queued';
    delete d.reason;
    this.sentAgain.push(deliveryId);
  };
  previews: TeamSettings[] = [];
  previewSettings = async (next: TeamSettings) => {
    this.previews.push(next);
    return { tickets: 12, become_at_risk: 3, become_breached: 1, become_on_track: 0, deadlines_moved: 5, summary: '3 tickets become at risk, 1 breached; 5 tickets get a new deadline.' };
  };
  saveSettings = async (next: TeamSettings) => {
    this.#needServer();
    this.teamSettings = structuredClone(next);
    return structuredClone(next);
  };
  about = async () => ({ app_version: '0.1.0', server_version: '0.1.0', server: 'https://x', log_folder: '/home/alice/.local/share/app.fyncall.desk/logs' });
  diagnostics = async () => 'Fyncall Desk 0.1.0\nOS: Debian GNU/Linux 12 (linux x86_64)\nServer: https://x (fyncall-server 0.1.0)';
  reportQueries: ReportRequest[] = [];
  /** What the desktop's report covers when its period reaches past the working set (a test sets it). */
  reportCoversSince: string | null = null;
  slaReport = async (q: ReportRequest): Promise<SlaReport> => {
    this.reportQueries.push(q);
    const c = (met: number, missed: number, median: number | null) => ({
      met, missed, rate: met + missed ? Math.round((met / (met + missed)) * 1e4) / 1e4 : null, median_seconds: median, p90_seconds: median === null ? null : median * 3,
    });
    const groups = q.group_by === 'agent'
      ? [{ key: alice.id, label: 'Alice Moreau', first_response: c(18, 2, 1200), resolution: c(9, 1, 36000) },
        { key: 'b1', label: 'Ben Okoro', first_response: c(10, 5, 1800), resolution: c(4, 4, 50000) }]
      : [{ key: '2026-11-23', label: 'Week of 23 Nov 2026', first_response: c(12, 3, 1500), resolution: c(6, 2, 40000) },
        { key: '2026-11-30', label: 'Week of 30 Nov 2026', first_response: c(0, 0, null), resolution: c(0, 0, null) }];
    return { from: q.from, to: q.to, group_by: q.group_by, time_zone: 'UTC', groups, total: { key: 'total', label: 'Total', first_response: c(28, 7, 1500), resolution: c(13, 5, 40000) },
      covers_since: this.reportCoversSince };
  };
  exports: ReportRequest[] = [];
  exportSlaReport = async (q: ReportRequest) => { this.exports.push(q); return '/home/alice/Downloads/sla-2026-11-03-2026-12-01-by-week.csv'; };
}

/** The app's state over `backend` for rendering a component alone: signed
 * in as `me` (Alice), with `agents` and `presence`. */
export function withDesk(backend: Backend, init: { me?: Agent; agents?: Agent[]; presence?: PresenceEntry[] } = {}) {
  const desk = new Desk(backend);
  const me = init.me ?? alice;
  desk.session = { server: 'http://x', agent: me, demo: false, token_in_keyring: true };
  desk.agents = new Map((init.agents ?? [alice]).map((a) => [a.id, a]));
  desk.presence = init.presence ?? [];
  return { desk, context: deskContext(desk) };
}
