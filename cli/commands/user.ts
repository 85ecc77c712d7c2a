import { userInfo } from 'node:os';
import { Command, CommanderError } from 'commander';
import type { Role, User } from '../../review/types.js';
import type { Context } from '../../src/context.js';
import { inputError } from '../../src/errors.js';
import { type GlobalOptions, withContext as openWithContext } from '../context.js';
import { reportError } from '../output.js';

type Stdin = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };

/** What the user commands talk to; replaceable so tests can drive the real commands in-process. */
export interface UserCliIo {
  withContext<T>(opts: GlobalOptions, fn: (ctx: Context) => Promise<T>): Promise<T>;
  stdin: Stdin;
  /** Results (stdout). */
  out(line: string): void;
  /** Prompts and notes (stderr). */
  err(text: string): void;
  setExitCode(code: number): void;
  /** Who the audit log names for changes made from the command line. */
  actor: string;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function defaultIo(): UserCliIo {
  return {
    withContext: openWithContext,
    stdin: process.stdin,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (text) => process.stderr.write(text),
    setExitCode: (code) => {
      process.exitCode = code;
    },
    actor: `cli:${osUser()}`,
  };
}

const ROLE_ZH: Record<Role, string> = { admin: '系统管理员', steward: '数据管理员', clerk: '区县填报员' };

async function readAll(stdin: Stdin): Promise<string> {
  let text = '';
  stdin.setEncoding?.('utf8');
  for await (const chunk of stdin) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  return text;
}

/** Reads a line from a terminal without echoing it. */
function promptHidden(io: UserCliIo, prompt: string): Promise<string> {
  const stdin = io.stdin;
  io.err(prompt);
  return new Promise((resolve, reject) => {
    let buf = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      io.err('\n');
    };
    const onData = (chunk: string | Buffer) => {
      for (const ch of String(chunk)) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(buf);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          reject(inputError('CANCELLED', '已取消。', 'cancelled at the password prompt'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') buf = [...buf].slice(0, -1).join('');
        else buf += ch;
      }
    };
    stdin.setRawMode?.(true);
    stdin.setEncoding?.('utf8');
    stdin.on('data', onData);
    stdin.resume();
  });
}

async function readPassword(io: UserCliIo, fromStdin: boolean): Promise<string> {
  if (fromStdin) return (await readAll(io.stdin)).replace(/\r?\n$/, '');
  if (io.stdin.isTTY !== true)
    throw inputError(
      'PASSWORD_REQUIRED',
      '标准输入不是终端，无法提示输入密码：请用 --password-stdin 从标准输入传入密码。',
      'stdin is not a terminal: pass the password with --password-stdin',
    );
  const first = await promptHidden(io, '密码：');
  const second = await promptHidden(io, '再输入一次：');
  if (first !== second)
    throw inputError('PASSWORD_MISMATCH', '两次输入的密码不一致，请重试。', 'passwords do not match');
  return first;
}

function describeUser(u: User): string {
  const county = u.county ? `，区县 ${u.county}` : '';
  const name = u.displayName ? `（${u.displayName}）` : '';
  return `${u.username}${name}：${ROLE_ZH[u.role]}${county}${u.disabled ? '，已停用' : ''}`;
}

interface AddOptions extends GlobalOptions {
  role: string;
  county?: string;
  name?: string;
  passwordStdin?: boolean;
}

/** `guiji user add|list|disable|token`: accounts of the review page, managed on the server. */
export function registerUser(program: Command, ioOverrides: Partial<UserCliIo> = {}): void {
  const io = { ...defaultIo(), ...ioOverrides };
  const user = program.command('user').description('管理复核网页的用户：添加、列出、停用，生成 API 令牌');

  /** Runs one sub-command's body; errors are printed for a person and set the exit code. */
  const run = async <O extends GlobalOptions>(cmd: Command, body: (opts: O, ctx: Context) => Promise<void>) => {
    const all = cmd.optsWithGlobals() as O;
    try {
      await io.withContext(all, (ctx) => body(all, ctx));
    } catch (e) {
      io.setExitCode(reportError(e, all.json === true));
    }
  };

  user
    .command('add <username>')
    .description('添加用户（密码用 argon2id 加密保存）')
    .requiredOption('--role <role>', 'admin（系统管理员）、steward（数据管理员，所有区县）或 clerk（区县填报员）')
    .option('--county <code>', '区县代码（clerk 必填，如 230184）')
    .option('--name <显示名>', '页面上显示的名字')
    .option('--password-stdin', '从标准输入读取密码（脚本用）；否则在终端提示输入两次')
    .option('--json', '输出 JSON')
    .action(async (username: string, _opts: AddOptions, cmd: Command) =>
      run<AddOptions>(cmd, async (opts, ctx) => {
        const { addUser, checkPassword } = await import('../../review/users.js');
        const password = await readPassword(io, opts.passwordStdin === true);
        checkPassword(password);
        const added = await addUser(
          ctx.db.knex,
          {
            username,
            password,
            role: opts.role as Role,
            county: opts.county ?? null,
            displayName: opts.name ?? null,
          },
          io.actor,
        );
        if (opts.json) io.out(JSON.stringify(added));
        else io.out(`已添加用户 ${describeUser(added)}。`);
      }),
    );

  user
    .command('list')
    .description('列出所有用户')
    .option('--json', '每个用户输出一行 JSON')
    .action(async (_opts: GlobalOptions, cmd: Command) =>
      run(cmd, async (opts, ctx) => {
        const { listUsers } = await import('../../review/users.js');
        const users = await listUsers(ctx.db.knex);
        if (opts.json) {
          for (const u of users) io.out(JSON.stringify(u));
          return;
        }
        if (users.length === 0) io.out('还没有用户。用 guiji user add <用户名> --role admin 添加第一个管理员。');
        for (const u of users) io.out(describeUser(u));
      }),
    );

  user
    .command('disable <username>')
    .description('停用用户：不能再登录，已登录的会话和 API 令牌立即失效')
    .option('--json', '输出 JSON')
    .action(async (username: string, _opts: GlobalOptions, cmd: Command) =>
      run(cmd, async (opts, ctx) => {
        const { disableUser } = await import('../../review/users.js');
        const done = await disableUser(ctx.db.knex, username, io.actor);
        if (opts.json) io.out(JSON.stringify(done));
        else io.out(`已停用用户 ${done.username}：不能再登录，已登录的会话和 API 令牌都已失效。`);
      }),
    );

  user
    .command('token <username>')
    .description('为用户生成 API 令牌（供脚本调用 API；令牌只显示这一次）')
    .requiredOption('--name <name>', '令牌的用途，如“夜间上传脚本”')
    .option('--json', '输出 JSON')
    .action(async (username: string, _opts: GlobalOptions & { name: string }, cmd: Command) =>
      run<GlobalOptions & { name: string }>(cmd, async (opts, ctx) => {
        const [{ getUser }, { createToken }, { notFound }] = await Promise.all([
          import('../../review/users.js'),
          import('../../review/tokens.js'),
          import('../../review/errors.js'),
        ]);
        const owner = await getUser(ctx.db.knex, username);
        if (!owner) throw notFound('用户', username);
        if (owner.disabled)
          throw inputError(
            'USER_DISABLED',
            `用户 ${username} 已停用，不能为其生成令牌。`,
            `user ${username} is disabled`,
          );
        const created = await createToken(ctx.db.knex, owner, opts.name, io.actor);
        if (opts.json) io.out(JSON.stringify({ id: created.id, name: created.name, username, token: created.token }));
        else {
          io.out(created.token);
          io.err(
            `以上是用户 ${username} 的 API 令牌“${created.name}”（编号 ${created.id}），只显示这一次，请妥善保存。\n用法：Authorization: Bearer <令牌>\n`,
          );
        }
      }),
    );
}

/**
 * Runs `guiji user …` in-process with the given arguments (after `user`) and returns the exit code, as
 * the `guiji` bin would set it (tests use this instead of spawning the built CLI).
 */
export async function runUserCli(args: readonly string[], io: Partial<UserCliIo> = {}): Promise<number> {
  let code = 0;
  const program = new Command()
    .name('guiji')
    .option('--config <file>')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => (io.err ?? defaultIo().err)(s),
      writeErr: (s) => (io.err ?? defaultIo().err)(s),
    });
  registerUser(program, {
    ...io,
    setExitCode: (c) => {
      code = c;
    },
  });
  try {
    await program.parseAsync(['user', ...args], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return code;
}
