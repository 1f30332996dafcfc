// TopicAdmin — the two Admin calls the real-broker changelog test needs and
// this broker's class path lacks a command for (it ships no kafka-topics.sh or
// kafka-configs.sh): run as a single-file source program with the broker's
// kafka-clients on the class path,
//
//   java -cp 'CACHE/lib/*' TopicAdmin.java BOOTSTRAP describe TOPIC
//       prints "partitions=N cleanup.policy=P"
//   java -cp 'CACHE/lib/*' TopicAdmin.java BOOTSTRAP create TOPIC PARTITIONS
//       creates TOPIC (broker defaults otherwise: cleanup.policy=delete)
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;

public class TopicAdmin {
    public static void main(String[] a) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.servers", a[0]);
        try (Admin admin = Admin.create(p)) {
            if (a[1].equals("create")) {
                admin.createTopics(List.of(new NewTopic(a[2], Integer.parseInt(a[3]), (short) 1)))
                    .all().get();
                return;
            }
            TopicDescription d = admin.describeTopics(List.of(a[2])).allTopicNames().get().get(a[2]);
            ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, a[2]);
            Map<ConfigResource, Config> c = admin.describeConfigs(List.of(r)).all().get();
            System.out.println("partitions=" + d.partitions().size() + " cleanup.policy="
                               + c.get(r).get("cleanup.policy").value());
        }
    }
}
