// docker update: Docker's merge of new limits into HostConfig, its conflicts, and the rule that
// a limit the runtime refuses leaves the record as it was.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { storePaths } from '../../src/config/paths.ts';
import type { EngineContext } from '../../src/engine/context.ts';
import { mergeUpdate, updateContainer } from '../../src/engine/containers/update.ts';
import { ContainerStore } from '../../src/engine/containers/store.ts';
import { ZERO_TIME, type ContainerRecord, type HostConfig } from '../../src/engine/containers/types.ts';
import { Conflict, InvalidArgument, SystemError } from '../../src/engine/errors.ts';
import { tempDir } from '../helpers/berth.ts';

const ID = 'f'.repeat(64);

describe('merging an update into HostConfig', () => {
  const base: HostConfig = { NetworkMode: 'bridge', Memory: 100 << 20, MemorySwap: 200 << 20, CpuShares: 512, RestartPolicy: { Name: 'no' } };

  it('takes the fields set and keeps those sent as zero', () => {
    const out = mergeUpdate(ID, base, { Memory: 150 << 20, CpuShares: 0, CpusetCpus: '0', PidsLimit: 10, RestartPolicy: { Name: '', MaximumRetryCount: 0 } });
    assert.equal(out.Memory, 150 << 20);
    assert.equal(out.CpuShares, 512);
    assert.equal(out.CpusetCpus, '0');
    assert.equal(out.PidsLimit, 10);
    assert.deepEqual(out.RestartPolicy, { Name: 'no' }, 'an empty policy name leaves the policy');
    assert.equal(out.NetworkMode, 'bridge');
  });

  it('refuses memory above the swap limit already set unless swap changes too', () => {
    assert.throws(() => mergeUpdate(ID, base, { Memory: 300 << 20 }), (err: Error) =>
      err instanceof Conflict && err.message === `Cannot update container ${ID}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time`);
    assert.equal(mergeUpdate(ID, base, { Memory: 300 << 20, MemorySwap: 600 << 20 }).MemorySwap, 600 << 20);
  });

  it('lets a container run without limits get a memory limit', () => {
    assert.equal(mergeUpdate(ID, { NetworkMode: 'bridge' }, { Memory: 64 << 20 }).Memory, 64 << 20);
    assert.equal(mergeUpdate(ID, { MemorySwap: -1 }, { Memory: 64 << 20 }).Memory, 64 << 20);
  });

  it('keeps NanoCpus and CpuPeriod/CpuQuota apart across old and new', () => {
    assert.throws(() => mergeUpdate(ID, { NanoCpus: 5e8 }, { CpuQuota: 50000 }), /CPU Quota cannot be updated as NanoCPUs has already been set/);
    assert.throws(() => mergeUpdate(ID, { CpuPeriod: 50000 }, { NanoCpus: 5e8 }), /Nano CPUs cannot be updated as CPU Period has already been set/);
  });

  it('refuses a restart policy on an AutoRemove container', () => {
    assert.throws(() => mergeUpdate(ID, { AutoRemove: true }, { RestartPolicy: { Name: 'always' } }), /Restart policy cannot be updated because AutoRemove is enabled/);
  });
});

describe('updating a container record', () => {
  const dir = tempDir();
  const ctx: EngineContext = { paths: storePaths(`${dir}/root`, `${dir}/run`), programs: { runc: 'runc', conmon: 'conmon' } };
  mkdirSync(`${ctx.paths.containers}/${ID}`, { recursive: true });
  mkdirSync(ctx.paths.locks, { recursive: true });
  const store = new ContainerStore(ctx);
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  after(async () => {
    sleeper.kill('SIGKILL');
    await once(sleeper, 'exit');
    rmSync(dir, { recursive: true, force: true });
  });

  const record = (status: 'running' | 'exited', pid: number): ContainerRecord => ({
    Id: ID,
    Name: 'web',
    Created: ZERO_TIME,
    Image: 'sha256:0',
    ImageName: 'busybox',
    Config: { Image: 'busybox' },
    HostConfig: { NetworkMode: 'bridge' },
    State: { Status: status, Pid: pid, ExitCode: 0, Error: '', StartedAt: ZERO_TIME, FinishedAt: ZERO_TIME, OOMKilled: false, ConmonPid: 0 },
    RestartCount: 0,
    Layers: [],
  });

  it('only records the limits of a stopped container', async () => {
    await store.write(record('exited', 0));
    let applied = 0;
    const res = await updateContainer(ctx, ID, { Memory: 64 << 20 }, { apply: async () => void applied++ });
    assert.deepEqual(res, { Warnings: [] });
    assert.equal(applied, 0);
    assert.equal((await store.read(ID))!.HostConfig.Memory, 64 << 20);
  });

  it('applies only the fields sent to a running container, then records them', async () => {
    await store.write(record('running', sleeper.pid!));
    const seen: unknown[] = [];
    await updateContainer(ctx, ID, { Memory: 64 << 20, CpuShares: 0, PidsLimit: 0 }, { apply: async (_c, id, r) => void seen.push([id, r]) });
    assert.deepEqual(seen, [[ID, { memory: { limit: 64 << 20 }, pids: { limit: -1 } }]]);
    assert.equal((await store.read(ID))!.HostConfig.PidsLimit, 0);
  });

  it('leaves the record as it was when the runtime refuses', async () => {
    await store.write(record('running', sleeper.pid!));
    await assert.rejects(
      updateContainer(ctx, ID, { Memory: 64 << 20 }, { apply: async () => Promise.reject(new Error('failed to write 67108864 to memory.limit_in_bytes')) }),
      (err: Error) => err instanceof SystemError && err.message === `Cannot update container ${ID}: failed to write 67108864 to memory.limit_in_bytes`,
    );
    assert.equal((await store.read(ID))!.HostConfig.Memory, undefined);
  });

  it("checks the new values as Docker's create does", async () => {
    await assert.rejects(updateContainer(ctx, ID, { Memory: 1 << 20 }), (err: Error) => err instanceof InvalidArgument && err.message === 'Minimum memory limit allowed is 6MB');
    await assert.rejects(updateContainer(ctx, 'nope', {}), /No such container: nope/);
  });
});
