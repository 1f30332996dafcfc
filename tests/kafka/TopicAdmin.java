// TopicAdmin — the Admin calls the real-broker tests need and this broker's
// class path lacks a command for (it ships no kafka-topics.sh or
// kafka-configs.sh): run as a single-file source program with the broker's
// kafka-clients on the class path,
//
//   java -cp 'CACHE/lib/*' TopicAdmin.java BOOTSTRAP describe TOPIC [KEY...]
//       prints "partitions=N cleanup.policy=P", then " KEY=VALUE" for each
//       further topic config KEY asked for (a topic unknown yet, just created:
//       asked again for up to 10 s)
//   java -cp 'CACHE/lib/*' TopicAdmin.java BOOTSTRAP create TOPIC PARTITIONS [KEY=VALUE...]
//       creates TOPIC with the topic configs KEY=VALUE (e.g. cleanup.policy=compact
//       segment.ms=1000); broker defaults otherwise (cleanup.policy=delete)
//   java -cp 'CACHE/lib/*' TopicAdmin.java BOOTSTRAP add-partitions TOPIC PARTITIONS
//       grows TOPIC to PARTITIONS partitions (CreatePartitions)
//   java -cp 'CACHE/lib/*' TopicAdmin.java BOOTSTRAP delete-records TOPIC
//       deletes every record TOPIC holds (DeleteRecords below each partition's
//       end offset: the log start moves there); prints how many, and where
//   java -cp 'CACHE/lib/*' TopicAdmin.java BOOTSTRAP COMMAND... -- COMMAND... [-- ...]
//       several of these in turn, in one JVM (each run compiles this file
//       again: seconds on a loaded box); stops at the first that fails
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

public class TopicAdmin {
    public static void main(String[] a) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", a[0]);
        try (Admin admin = Admin.create(p)) {
            List<String> cmd = new ArrayList<>();
            for (int i = 1; i <= a.length; i++) {
                if (i == a.length || a[i].equals("--")) {
                    run(admin, cmd.toArray(new String[0]));
                    cmd.clear();
                } else {
                    cmd.add(a[i]);
                }
            }
        }
    }

    // One command: c[0] is "create", "add-partitions", "delete-records" or
    // "describe", c[1] the topic.
    static void run(Admin admin, String[] c) throws Exception {
        if (c[0].equals("create")) {
            Map<String, String> configs = new HashMap<>();
            for (int i = 3; i < c.length; i++) {
                int eq = c[i].indexOf('=');
                if (eq < 1)
                    throw new IllegalArgumentException("topic config needs KEY=VALUE: " + c[i]);
                configs.put(c[i].substring(0, eq), c[i].substring(eq + 1));
            }
            NewTopic t = new NewTopic(c[1], Integer.parseInt(c[2]), (short) 1);
            admin.createTopics(List.of(t.configs(configs))).all().get();
            return;
        }
        if (c[0].equals("add-partitions")) {
            admin.createPartitions(Map.of(c[1], NewPartitions.increaseTo(Integer.parseInt(c[2]))))
                .all().get();
            return;
        }
        if (c[0].equals("delete-records")) {
            deleteRecords(admin, c[1]);
            return;
        }
        if (!c[0].equals("describe"))
            throw new IllegalArgumentException("unknown command: " + c[0]);
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, c[1]);
        TopicDescription d = null;
        Map<ConfigResource, Config> cf = null;
        // A topic just created may not be known to the broker's metadata yet:
        // up to 10 s for it.
        for (int tries = 0; cf == null; tries++) {
            try {
                d = admin.describeTopics(List.of(c[1])).allTopicNames().get().get(c[1]);
                cf = admin.describeConfigs(List.of(r)).all().get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException) || tries >= 50)
                    throw e;
                Thread.sleep(200);
            }
        }
        StringBuilder out = new StringBuilder("partitions=" + d.partitions().size()
                                              + " cleanup.policy="
                                              + cf.get(r).get("cleanup.policy").value());
        for (int i = 2; i < c.length; i++) {
            ConfigEntry e = cf.get(r).get(c[i]);
            out.append(' ').append(c[i]).append('=').append(e == null ? "(none)" : e.value());
        }
        System.out.println(out);
    }

    // Delete every record of every partition of topic (DeleteRecords below
    // the end offsets); prints "deleted N records of TOPIC (below p:END ...)".
    static void deleteRecords(Admin admin, String topic) throws Exception {
        TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        Map<TopicPartition, OffsetSpec> ask = new HashMap<>();
        for (TopicPartitionInfo i : d.partitions())
            ask.put(new TopicPartition(topic, i.partition()), OffsetSpec.latest());
        Map<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> end =
            admin.listOffsets(ask).all().get();
        Map<TopicPartition, RecordsToDelete> del = new HashMap<>();
        StringBuilder below = new StringBuilder();
        long n = 0;
        for (int p = 0; p < d.partitions().size(); p++) {
            TopicPartition tp = new TopicPartition(topic, p);
            long off = end.get(tp).offset();
            del.put(tp, RecordsToDelete.beforeOffset(off));
            below.append(p == 0 ? "" : " ").append(p).append(':').append(off);
            n += off;
        }
        admin.deleteRecords(del).all().get();
        System.out.println("deleted " + n + " records of " + topic + " (below " + below + ")");
    }
}
