import Dispatch

/// Runs a command's tasks on the main thread (the main dispatch queue, which top-level `await`
/// already drains) instead of Swift's global concurrent pool.
///
/// A one-off command is one task that awaits one thing at a time; the pool's worker threads only
/// add their start-up and a thread hop per `await` to it (measured on `chaos kill --pid`, issue 21:
/// bench/README.md). Work that wants a thread of its own still gets one: `Task.detached` without a
/// preference, and every library thread (timers, subprocess monitors, signal sources) hands its
/// result back to this queue. Nothing here may block the main thread waiting for another task.
public final class MainQueueExecutor: TaskExecutor {
    public static let shared = MainQueueExecutor()

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        DispatchQueue.main.async { job.runSynchronously(on: executor) }
    }
}
