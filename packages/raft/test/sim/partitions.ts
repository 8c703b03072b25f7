/**
 * Which simulated servers can talk: each belongs to a group (0 unless told otherwise), and only
 * servers of one group reach each other. Shared by the core, production-driver and store simulators.
 */
export class Partitions {
  private readonly groups = new Map<number, number>();

  connected(a: number, b: number): boolean {
    return (this.groups.get(a) ?? 0) === (this.groups.get(b) ?? 0);
  }

  /** Puts `id` in `group`, away from every server outside it. */
  move(id: number, group: number): void {
    this.groups.set(id, group);
  }

  /** Replaces every group: server ids in `groups[i]` form group i. */
  partition(groups: number[][]): void {
    this.groups.clear();
    groups.forEach((g, i) => {
      for (const id of g) this.groups.set(id, i);
    });
  }

  heal(): void {
    this.groups.clear();
  }
}
