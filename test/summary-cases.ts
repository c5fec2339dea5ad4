// Known documents and their key terms, the oracle inputs for summary quality: a TypeScript module
// and an operations page (one part each), a design document summarized at a small context (map
// step in several parts, then the reduce step), and a real file of the repo; and runCase, which
// summarizes a case as the CLI does and judges the summary and every step's raw output. Shared by
// test/summary-quality.test.ts and scripts/summary-quality.ts. Not here: the checks themselves
// (test/summary-oracle.ts), loading a model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../src/engine/engine';
import { SamplerOptions } from '../src/engine/sampler';
import { SourceText, summarizeTexts, SummaryResult } from '../src/context/summarize';
import { ROOT } from './helpers';
import { judge, KeyTerm, promptWords, SummaryVerdict } from './summary-oracle';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'summary');

export interface SummaryCase {
  name: string;
  docs: SourceText[];
  terms: KeyTerm[];
  /**
   * The share of `terms` a summary must mention: a tolerance below the measured share (greedy
   * Qwen2.5-Coder-0.5B; numerics differ slightly between CPUs) and above the old prompts' share.
   */
  minTermShare: number;
  /** Context size to summarize at (small ones force the map-reduce path). */
  ctx: number;
  maxTokens: number;
  /** What the texts are, as the CLI and the extension name a folder ("the folder src/shop"). */
  subject?: string;
  /** A folder: the term each file's own summary must mention (by path); `terms` are then the overview's. */
  fileTerms?: Record<string, KeyTerm>;
}

export interface CaseRun {
  r: SummaryResult;
  /** The summary the user sees (after the summarizer's clean-up). */
  v: SummaryVerdict;
  /** Each map and reduce step's output as the model wrote it, before the clean-up, and its verdict. */
  steps: { text: string; v: SummaryVerdict }[];
  /** Key terms the summary must mention (minTermShare of them, rounded up). */
  need: number;
  /** A folder: each file's own summary and its verdict (its fileTerms entry; the file as the source). */
  files: { path: string; summary: string; v: SummaryVerdict }[];
}

/** Summarize a case with the summarizer's own sampling (greedy unless `sampler` says otherwise) and judge it. */
export async function runCase(engine: Engine, c: SummaryCase, sampler?: Partial<SamplerOptions>): Promise<CaseRun> {
  const raw: string[] = [];
  const r = await summarizeTexts(engine, c.docs, {
    maxTokens: c.maxTokens,
    sampler,
    subject: c.subject,
    onEvent: (ev) => {
      if (ev.type === 'done') raw.push(ev.text);
    },
  });
  const instructions = promptWords(c.docs[0]!.path, c.docs.length, c.subject);
  const source = (p: string): string => c.docs.find((d) => d.path === p)?.text ?? '';
  return {
    r,
    // A folder's overview may be one (long) sentence: each file's own summary is shown beside it.
    v: judge(r.summary, c.terms, {
      source: c.docs.map((d) => d.text).join('\n'),
      instructions,
      minSentences: c.fileTerms ? 1 : 2,
    }),
    steps: raw.map((text) => ({ text, v: judge(text, [], { instructions }) })),
    need: Math.ceil(c.minTermShare * c.terms.length),
    files: r.covered
      .filter((f) => f.summary !== undefined)
      .map((f) => {
        const term = c.fileTerms?.[f.path];
        const v = judge(f.summary!, term ? [term] : [], { source: source(f.path), instructions });
        return { path: f.path, summary: f.summary!, v };
      }),
  };
}

const t = (name: string, ...forms: string[]): KeyTerm => ({ name, forms: forms.length ? forms : [name] });
const read = (file: string): string => fs.readFileSync(path.join(FIXTURES, file), 'utf8');

export function rateLimiterCase(): SummaryCase {
  return {
    name: 'rate-limiter.ts (code, one part)',
    docs: [{ path: 'src/api/rate-limiter.ts', text: read('rate-limiter.ts.txt') }],
    terms: [
      t('token bucket', 'token[- ]bucket'),
      t('rate limit', 'rate[- ]limit', 'limits? the rate'),
      t('refill', 'refill', 'replenish'),
      t('capacity or burst', 'capacity', 'burst'),
      t('429', '429', 'too many requests'),
      t('Retry-After', 'retry[- ]after'),
      t('API key', 'api[- ]key', 'x-api-key'),
      t('idle eviction', 'evict', 'idle'),
      t('middleware', 'middleware'),
    ],
    ctx: 1024, // one part (the test shares one engine with the map-reduce case)
    minTermShare: 0.5, // 5 of 9; measured 8 of 9 (the old prompts: 4)
    maxTokens: 128,
  };
}

export function backupsCase(): SummaryCase {
  return {
    name: 'backups.md (prose, one part)',
    docs: [{ path: 'docs/backups.md', text: read('backups.md') }],
    terms: [
      t('PostgreSQL', 'postgres'),
      t('pg_dump', 'pg_dump'),
      t('WAL', 'wal\\b', 'write-ahead'),
      t('S3', 's3'),
      t('encryption', 'encrypt'),
      t('retention', 'retention', 'retain', 'kept for', '35 days'),
      t('restore', 'restor'),
      t('drill', 'drill'),
      t('point-in-time recovery', 'point-in-time'),
      t('nightly', 'nightly', 'every night', 'daily'),
    ],
    ctx: 2048,
    minTermShare: 0.4, // 4 of 10; measured 5–6 of 10
    maxTokens: 160,
  };
}

/** Two parts at this context: the map step's summaries go through the reduce step. */
export function ternCase(): SummaryCase {
  return {
    name: 'tern-design.md (map-reduce)',
    docs: [{ path: 'docs/tern-design.md', text: read('tern-design.md') }],
    terms: [
      t('job queue', 'job queue', 'queue'),
      t('at-least-once', 'at[- ]least[- ]once'),
      t('idempotency', 'idempoten'),
      t('append-only log', 'append[- ]only', 'log'),
      t('segments', 'segment'),
      t('lease', 'lease', 'visibility'),
      t('retry with backoff', 'retr', 'backoff'),
      t('dead-letter queue', 'dead[- ]letter'),
      t('Raft', 'raft', 'consensus', 'quorum'),
      t('leader election', 'leader'),
      t('fairness between tenants', 'tenant', 'fair'),
      t('Prometheus', 'prometheus', 'metric'),
    ],
    ctx: 1024,
    minTermShare: 0.33, // 4 of 12; measured 5–6 of 12 (the old prompts: 2, and an echoed chunk)
    maxTokens: 128,
  };
}

/** A real file of the repo (its content changes rarely; the terms are its vocabulary). */
export function chunksCase(): SummaryCase {
  return {
    name: 'src/context/chunks.ts (real file)',
    docs: [
      { path: 'src/context/chunks.ts', text: fs.readFileSync(path.join(ROOT, 'src', 'context', 'chunks.ts'), 'utf8') },
    ],
    terms: [
      t('chunk', 'chunk'),
      t('token', 'token'),
      t('line', 'line'),
      t('budget', 'budget', 'limit'),
      t('piece', 'piece'),
      t('split', 'split', 'cut', 'divid'),
      t('greedy packing', 'greed', 'pack'),
    ],
    ctx: 2048,
    minTermShare: 0.4, // 3 of 7 (scripts/summary-quality.ts only)
    maxTokens: 160,
  };
}

/**
 * A folder of twelve small files of a web shop, each with one made-up name only it holds: each
 * file's own summary must name its file or made-up name, and the overview must say what the shop's
 * files do (its terms). Twelve, because a small model asked for one summary of many files names
 * only the first few: the old map step (several files per part, maxTokens / parts tokens each,
 * then a 3-to-5-sentence reduce) named 4 of the 12 files of src/engine/kv.
 */
export function folderCase(): SummaryCase {
  // [file, the made-up name only it holds, text]
  const files: [string, string, string][] = [
    [
      'checkout.ts',
      'PelicanCheckout',
      `// Checkout for the web shop: totals an order and applies coupon codes.
import { Cart } from './cart';

export class PelicanCheckout {
  constructor(private readonly taxRate: number) {}

  /** Sum of the line items, minus the coupon's discount, plus tax. */
  total(cart: Cart, coupon?: string): number {
    const items = cart.lines.reduce((sum, l) => sum + l.price * l.quantity, 0);
    const discount = coupon === 'SPRING10' ? items * 0.1 : 0;
    return Math.round((items - discount) * (1 + this.taxRate) * 100) / 100;
  }

  /** Checks that every line has a positive quantity and a known price before payment. */
  validate(cart: Cart): string[] {
    const problems: string[] = [];
    for (const l of cart.lines) {
      if (l.quantity <= 0) problems.push(\`\${l.sku}: quantity must be positive\`);
      if (!(l.price > 0)) problems.push(\`\${l.sku}: no price\`);
    }
    return problems;
  }

  /** The receipt lines shown on the order page: one per item, then the total. */
  receipt(cart: Cart, coupon?: string): string[] {
    const lines = cart.lines.map((l) => \`\${l.quantity} x \${l.sku} at \${l.price.toFixed(2)}\`);
    return [...lines, \`Total: \${this.total(cart, coupon).toFixed(2)}\`];
  }
}
`,
    ],
    [
      'inventory.ts',
      'ZephyrStock',
      `// Stock levels per warehouse, with reservations while an order is paid.
export class ZephyrStock {
  private readonly levels = new Map<string, number>();

  restock(sku: string, count: number): void {
    this.levels.set(sku, (this.levels.get(sku) ?? 0) + count);
  }

  /** Takes items out of stock for an order; false when there are not enough. */
  reserve(sku: string, count: number): boolean {
    const have = this.levels.get(sku) ?? 0;
    if (have < count) return false;
    this.levels.set(sku, have - count);
    return true;
  }

  /** Puts reserved items back when a payment fails or an order is cancelled. */
  release(sku: string, count: number): void {
    this.restock(sku, count);
  }

  /** The SKUs at or below their reorder threshold, for the purchasing team's daily report. */
  lowStock(threshold = 5): string[] {
    return [...this.levels].filter(([, n]) => n <= threshold).map(([sku]) => sku);
  }
}
`,
    ],
    [
      'mailer.ts',
      'OtterMailer',
      `// Sends the order confirmation email, retrying when the mail server is down.
import { SmtpClient } from './smtp';

export class OtterMailer {
  constructor(private readonly smtp: SmtpClient) {}

  async sendConfirmation(to: string, orderId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.smtp.send({ to, subject: \`Order \${orderId} confirmed\` });
      } catch (e) {
        if (attempt === 3) throw e;
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
  }

  /** The shipping notice, with the tracking number, once the parcel has left the warehouse. */
  async sendShipped(to: string, orderId: string, tracking: string): Promise<void> {
    await this.smtp.send({ to, subject: \`Order \${orderId} shipped\`, body: \`Tracking number: \${tracking}\` });
  }

  /** Refuses addresses without an @ or with spaces before anything is sent. */
  static valid(address: string): boolean {
    return /^[^\\s@]+@[^\\s@]+$/.test(address);
  }
}
`,
    ],
    [
      'pricing.ts',
      'MarigoldPricing',
      `// Prices in the customer's currency.
const RATES: Record<string, number> = { EUR: 1, USD: 1.08, GBP: 0.86 };

export class MarigoldPricing {
  /** Converts a price in euros to \`currency\`, rounded to cents. */
  convert(euros: number, currency: string): number {
    const rate = RATES[currency];
    if (rate === undefined) throw new Error(\`unknown currency \${currency}\`);
    return Math.round(euros * rate * 100) / 100;
  }

  /** Formats a converted price for display, with the currency's symbol. */
  format(euros: number, currency: string): string {
    const symbol = currency === 'USD' ? '$' : currency === 'GBP' ? '£' : '€';
    return \`\${symbol}\${this.convert(euros, currency).toFixed(2)}\`;
  }

  /** A sale price: the discount in percent, never below the cost price. */
  discounted(euros: number, percent: number, cost: number): number {
    return Math.max(cost, Math.round(euros * (100 - percent)) / 100);
  }
}
`,
    ],
    [
      'audit.ts',
      'QuokkaAuditLog',
      `// An append-only record of who changed what in the shop's admin pages.
import * as fs from 'node:fs';

export class QuokkaAuditLog {
  constructor(private readonly file: string) {}

  record(user: string, action: string): void {
    const line = JSON.stringify({ at: new Date().toISOString(), user, action });
    fs.appendFileSync(this.file, line + '\\n');
  }

  /** The records of one user, newest first, for the admin page's history tab. */
  byUser(user: string): { at: string; action: string }[] {
    return fs
      .readFileSync(this.file, 'utf8')
      .split('\\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { at: string; user: string; action: string })
      .filter((r) => r.user === user)
      .reverse();
  }
}
`,
    ],
    [
      'shipping.ts',
      'HeronShipping',
      `// Shipping cost by parcel weight and destination zone.
const ZONE_BASE: Record<'domestic' | 'europe' | 'world', number> = { domestic: 4.9, europe: 9.5, world: 19 };

export class HeronShipping {
  /** Base price of the zone plus 1.20 per kilogram above the first two, free above 100 euros of goods. */
  quote(weightKg: number, zone: keyof typeof ZONE_BASE, goods: number): number {
    if (goods >= 100) return 0;
    return ZONE_BASE[zone] + Math.max(0, Math.ceil(weightKg) - 2) * 1.2;
  }

  /** Delivery estimate in working days by zone. */
  days(zone: keyof typeof ZONE_BASE): number {
    return zone === 'domestic' ? 2 : zone === 'europe' ? 5 : 10;
  }

  /** Parcels above 30 kg go by freight and cannot be quoted here. */
  canShip(weightKg: number): boolean {
    return weightKg <= 30;
  }
}
`,
    ],
    [
      'reviews.ts',
      'WombatReviews',
      `// Product reviews: customers rate what they bought, and moderators hide abusive reviews.
export interface Review {
  sku: string;
  author: string;
  stars: number;
  text: string;
  hidden: boolean;
}

export class WombatReviews {
  private readonly reviews: Review[] = [];

  /** Only customers who bought the product may review it, once, with 1 to 5 stars. */
  add(review: Omit<Review, 'hidden'>, bought: boolean): void {
    if (!bought) throw new Error('only buyers can review');
    if (review.stars < 1 || review.stars > 5) throw new Error('stars must be 1 to 5');
    if (this.reviews.some((r) => r.sku === review.sku && r.author === review.author)) throw new Error('already reviewed');
    this.reviews.push({ ...review, hidden: false });
  }

  /** The average of the visible reviews, shown next to the product name. */
  average(sku: string): number | undefined {
    const visible = this.reviews.filter((r) => r.sku === sku && !r.hidden);
    return visible.length ? visible.reduce((s, r) => s + r.stars, 0) / visible.length : undefined;
  }

  /** A moderator hides a review that breaks the rules; it stays stored for appeals. */
  hide(sku: string, author: string): void {
    for (const r of this.reviews) if (r.sku === sku && r.author === author) r.hidden = true;
  }
}
`,
    ],
    [
      'search.ts',
      'ToucanSearch',
      `// Product search for the shop's search box: ranks products by how well their name matches.
export interface Product {
  sku: string;
  name: string;
  inStock: boolean;
}

export class ToucanSearch {
  constructor(private readonly products: readonly Product[]) {}

  /** Products whose name contains every word of the query, best matches first, out-of-stock ones last. */
  find(query: string, limit = 20): Product[] {
    const words = query.toLowerCase().split(/\\s+/).filter(Boolean);
    return this.products
      .filter((p) => words.every((w) => p.name.toLowerCase().includes(w)))
      .sort((a, b) => Number(b.inStock) - Number(a.inStock) || this.score(b, words) - this.score(a, words))
      .slice(0, limit);
  }

  /** A name that starts with the first word ranks above one that only contains it. */
  private score(p: Product, words: readonly string[]): number {
    return p.name.toLowerCase().startsWith(words[0] ?? '') ? 2 : 1;
  }

  /** Suggestions while typing: names that start with what was typed so far. */
  suggest(prefix: string): string[] {
    const p = prefix.toLowerCase();
    return this.products.filter((x) => x.name.toLowerCase().startsWith(p)).map((x) => x.name).slice(0, 5);
  }
}
`,
    ],
    [
      'sessions.ts',
      'LynxSessions',
      `// Login sessions for customers: a random token in a cookie, valid for 30 days of inactivity.
import { randomBytes } from 'node:crypto';

const IDLE_MS = 30 * 24 * 3600 * 1000;

export class LynxSessions {
  private readonly sessions = new Map<string, { user: string; lastSeen: number }>();

  /** A new session after a successful login; the token goes into an HttpOnly cookie. */
  open(user: string, now = Date.now()): string {
    const token = randomBytes(32).toString('hex');
    this.sessions.set(token, { user, lastSeen: now });
    return token;
  }

  /** The user of a cookie's token, refreshing its idle timer; undefined when unknown or expired. */
  check(token: string, now = Date.now()): string | undefined {
    const s = this.sessions.get(token);
    if (!s || now - s.lastSeen > IDLE_MS) {
      this.sessions.delete(token);
      return undefined;
    }
    s.lastSeen = now;
    return s.user;
  }

  /** Logging out on one device ends that session only; changing the password ends all of them. */
  close(token: string): void {
    this.sessions.delete(token);
  }

  closeAll(user: string): void {
    for (const [t, s] of this.sessions) if (s.user === user) this.sessions.delete(t);
  }
}
`,
    ],
    [
      'refunds.ts',
      'CondorRefunds',
      `// Refunds of paid orders, within 14 days of delivery, back to the original payment method.
export interface PaidOrder {
  id: string;
  paid: number;
  deliveredAt?: Date;
  refunded: number;
}

export class CondorRefunds {
  constructor(private readonly pay: { refund(orderId: string, amount: number): Promise<void> }) {}

  /** Whether the order may still be refunded: delivered no more than 14 days ago. */
  eligible(order: PaidOrder, now = new Date()): boolean {
    if (!order.deliveredAt) return false;
    return now.getTime() - order.deliveredAt.getTime() <= 14 * 24 * 3600 * 1000;
  }

  /** Refunds part or all of what is left of the payment; never more than was paid in total. */
  async refund(order: PaidOrder, amount: number): Promise<void> {
    if (!this.eligible(order)) throw new Error('the 14-day refund window has passed');
    const left = order.paid - order.refunded;
    if (amount > left) throw new Error(\`at most \${left.toFixed(2)} can be refunded\`);
    await this.pay.refund(order.id, amount);
    order.refunded += amount;
  }
}
`,
    ],
    [
      'wishlist.ts',
      'IbisWishlist',
      `// Wish lists: customers save products for later and are told when a saved product is on sale.
export class IbisWishlist {
  private readonly lists = new Map<string, Set<string>>();

  save(user: string, sku: string): void {
    const list = this.lists.get(user) ?? new Set<string>();
    list.add(sku);
    this.lists.set(user, list);
  }

  remove(user: string, sku: string): void {
    this.lists.get(user)?.delete(sku);
  }

  /** The users to notify when a product goes on sale: everyone who saved it. */
  watchers(sku: string): string[] {
    return [...this.lists].filter(([, l]) => l.has(sku)).map(([user]) => user);
  }

  /** A shareable list: the products in the order they were saved. */
  share(user: string): string[] {
    return [...(this.lists.get(user) ?? [])];
  }
}
`,
    ],
    [
      'loyalty.ts',
      'ManateeLoyalty',
      `// Loyalty points: one point per euro spent, redeemed in blocks of 100 points for 5 euros off.
export class ManateeLoyalty {
  private readonly points = new Map<string, number>();

  /** Points for a paid order, rounded down; none for the part paid with points. */
  earn(user: string, euros: number): number {
    const earned = Math.floor(euros);
    this.points.set(user, (this.points.get(user) ?? 0) + earned);
    return earned;
  }

  /** Redeems as many whole blocks of 100 points as the order allows; returns the discount in euros. */
  redeem(user: string, orderTotal: number): number {
    const have = this.points.get(user) ?? 0;
    const blocks = Math.min(Math.floor(have / 100), Math.floor(orderTotal / 5));
    this.points.set(user, have - blocks * 100);
    return blocks * 5;
  }

  /** Points expire two years after the customer's last order; a nightly job calls this. */
  expire(user: string): void {
    this.points.delete(user);
  }
}
`,
    ],
  ];
  const term = (name: string, file: string): KeyTerm => t(name, name.toLowerCase(), file.replace('.', '\\.'));
  return {
    name: 'src/shop (a folder of 12 files)',
    docs: files.map(([file, , text]) => ({ path: file, text })),
    // The overview's vocabulary: what the shop's files do together.
    terms: [
      t('shop', 'shop', 'store', 'e-?commerce', 'online'),
      t('order', 'order'),
      t('customer', 'customer', 'user'),
      t('payment', 'pay'),
      t('product', 'product', 'item'),
      t('stock', 'stock', 'inventor'),
      t('shipping', 'ship', 'deliver'),
      t('price', 'pric', 'cost', 'discount'),
    ],
    fileTerms: Object.fromEntries(files.map(([file, name]) => [file, term(name, file)])),
    ctx: 1536,
    minTermShare: 0.5, // of the overview: 4 of 8; measured 6 of 8 (each file's own summary must name it: 12 of 12)
    maxTokens: 256, // the CLI's and the extension's default
    subject: 'the folder src/shop',
  };
}
