/** Entry of the inference worker: wires the protocol host to the real engine. */
import { WorkerEngine } from './engine';
import { InferenceHost } from './host';
import type { WorkerEvent, WorkerRequest } from './protocol';

interface WorkerSelf {
  postMessage(message: WorkerEvent, transfer: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerRequest>) => void): void;
}

const scope = self as unknown as WorkerSelf & ConstructorParameters<typeof WorkerEngine>[0];
const host = new InferenceHost(new WorkerEngine(scope), (event, transfer) => scope.postMessage(event, transfer ?? []));
scope.addEventListener('message', (e) => host.handle(e.data));
