package dev.mongomolt.testserver;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * Starts mongo-java-server's in-memory backend on 127.0.0.1 and prints one line,
 * {@code MONGODB_URI=mongodb://127.0.0.1:PORT/}, once it accepts connections.
 *
 * <p>The backend reports wire version 8 out of the box; the Node.js driver 7 requires 9
 * (MongoDB 4.4), so the launcher reports 4.4. Usage: {@code Launcher [port]} (0 picks a free port).
 */
public final class Launcher {

    /** MongoDB 4.4: the oldest server the Node.js driver 7 accepts. */
    private static final MongoVersion REPORTED_VERSION = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };

    private Launcher() {
    }

    public static void main(String[] args) throws InterruptedException {
        int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
        MongoServer server = new MongoServer(new MemoryBackend().version(REPORTED_VERSION));
        server.bind(new InetSocketAddress("127.0.0.1", port));
        InetSocketAddress address = server.getLocalAddress();
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
        System.out.println("MONGODB_URI=mongodb://127.0.0.1:" + address.getPort() + "/");
        System.out.flush();
        Thread.currentThread().join();
    }
}
