// podlens command-line entry: dispatch to a subcommand; usage errors exit 2 with usage text,
// runtime errors exit 1 with one line on stderr (no stack trace unless PODLENS_DEBUG is set).
import { flagHelp, parseFlags, UsageError } from './args';
import { Command, COMMANDS as BASE, Io } from './commands';
import { SESSION_COMMANDS } from './session-commands';
import { POD_COMMANDS } from './pod-commands';
import { defaultModelLine, resolveDefaultModel } from './default-model';

const COMMANDS: Record<string, Command> = { ...BASE, ...SESSION_COMMANDS, ...POD_COMMANDS };

function usage(cmd?: string): string {
  if (cmd && COMMANDS[cmd]) {
    const c = COMMANDS[cmd]!;
    return `usage: podlens ${cmd} ${c.positional ? `${c.positional} ` : ''}[options]\n${c.summary}\n\n${flagHelp(c.flags)}`;
  }
  return [
    'usage: podlens <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`),
    '',
    "run 'podlens <command> --help' for a command's options",
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`podlens: unknown command "${name}"\n${usage()}\n`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(usage(name) + '\n');
    return 0;
  }
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  const io: Io = {
    out: (s) => process.stdout.write(s + '\n'),
    err: (s) => process.stderr.write(s + '\n'),
    signal: ac.signal,
  };
  try {
    const { flags, positional } = parseFlags(rest, cmd.flags);
    if (positional.length > (cmd.positional ? 1 : 0))
      throw new UsageError(`unexpected argument "${positional[cmd.positional ? 1 : 0]}"`);
    if ('model' in cmd.flags && flags.model === undefined) {
      flags.model = resolveDefaultModel();
      io.err(defaultModelLine(flags.model));
    }
    await cmd.run(flags, io, positional);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`podlens ${name}: ${e.message}\n${usage(name)}\n`);
      return 2;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`podlens ${name}: ${msg.split('\n')[0]}\n`);
    if (process.env.PODLENS_DEBUG && e instanceof Error) process.stderr.write(`${e.stack ?? ''}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSig);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`podlens: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
