// docker top: ps output cut down to a container's pids, the PID column wherever ps puts it,
// threads under their process, and ps's own complaints as the error.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { SystemError } from '../../src/engine/errors.ts';
import { parsePsOutput, top, validatePsArgs } from '../../src/engine/runtime/top.ts';

const EF = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 05:52 ?        00:00:53 /sbin/init splash
root        4242       1  0 09:09 ?        00:00:00 sleep 300
root        4243    4242  0 09:09 pts/0    00:00:00 sh -c echo  two  spaces
nobody      4300       1  0 09:10 ?        00:00:00 nginx: worker process
`;

describe('ps output', () => {
  it('keeps the rows of the container pids, the command whole in the last column', () => {
    const r = parsePsOutput(EF, [4242, 4243]);
    assert.deepEqual(r.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    assert.deepEqual(r.Processes, [
      ['root', '4242', '1', '0', '09:09', '?', '00:00:00', 'sleep 300'],
      ['root', '4243', '4242', '0', '09:09', 'pts/0', '00:00:00', 'sh -c echo two spaces'],
    ]);
  });

  it('finds the PID column wherever the format puts it (aux)', () => {
    const aux = `USER         PID %CPU %MEM    VSZ   RSS TTY      STAT START   TIME COMMAND
root           1  0.0  0.0 171396 11520 ?        Ss   05:52   0:53 /sbin/init
root        4242  0.0  0.0   5132  4064 ?        S    09:09   0:00 sleep 300
`;
    assert.deepEqual(parsePsOutput(aux, [4242]).Processes, [['root', '4242', '0.0', '0.0', '5132', '4064', '?', 'S', '09:09', '0:00', 'sleep 300']]);
  });

  it('keeps the thread rows (PID "-") of a container process, not of others', () => {
    const threads = `  PID   TID CMD
    1     - /sbin/init
    -     1 -
 4242     - java -jar app.jar
    -  4242 -
    -  4250 -
`;
    const r = parsePsOutput(threads, [4242]);
    assert.deepEqual(r.Processes, [
      ['4242', '-', 'java -jar app.jar'],
      ['-', '4242', '-'],
      ['-', '4250', '-'],
    ]);
  });

  it('answers no processes, not an error, when none is the container', () => {
    assert.deepEqual(parsePsOutput(EF, [99999]).Processes, []);
  });

  it('refuses output without a PID column, as Docker words it', () => {
    assert.throws(() => parsePsOutput('USER COMMAND\nroot sleep\n', [1]), (err: Error) => err instanceof SystemError && err.message === "Couldn't find PID field in ps output");
  });

  it('allows pid=PID but no other column named PID', () => {
    validatePsArgs('-o pid=PID,comm');
    assert.throws(() => validatePsArgs('-o user=PID,pid'), (err: Error) => err.message === 'specifying "user=PID,pid" is not allowed');
  });
});

describe('top with the real ps', () => {
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  after(async () => {
    child.kill('SIGKILL');
    await once(child, 'exit');
  });

  it('lists exactly the given processes with the default -ef', async () => {
    const r = await top([child.pid!]);
    assert.deepEqual(r.Titles, ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    assert.equal(r.Processes.length, 1);
    assert.equal(r.Processes[0]![1], String(child.pid));
    assert.equal(r.Processes[0]![7], 'sleep 300');
  });

  it('falls back to a full listing for options ps refuses with -q (forest)', async () => {
    const r = await top([child.pid!], '-ef f');
    assert.equal(r.Processes.length, 1);
    assert.match(r.Processes[0]!.at(-1)!, /sleep 300/);
  });

  it('fails with what ps said about bad arguments', async () => {
    await assert.rejects(top([child.pid!], '--bogus'), (err: Error) => err instanceof SystemError && /^ps: error: unknown gnu long option/.test(err.message));
  });
});
